package main

import (
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/daemon"
	"github.com/xdpban/xdpban/internal/xdp"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the daemon: load and attach the XDP program, keep bans in force",
		Description: "Loads the XDP program (reusing the maps and links pinned by an earlier run,\n" +
			"so bans survive restarts), attaches it to every --iface, and runs until\n" +
			"SIGTERM or SIGINT. When it stops, the pinned program keeps dropping and\n" +
			"expiring bans. Every flag also reads the XDPBAN_* environment variable named.",
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			o, err := optionsFromFlags(c)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			return daemon.Run(ctx, o, log)
		},
	}
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "iface", Usage: "attach XDP to interface `NAME` (repeatable)", EnvVars: []string{"XDPBAN_IFACE"}},
		&cli.StringFlag{Name: "xdp-mode", Value: "auto", Usage: "auto, native or generic", EnvVars: []string{"XDPBAN_XDP_MODE"}},
		&cli.StringFlag{Name: "ports", Value: "6619", Usage: "protected TCP `PORTS` (6619,443 or 6000-6010), or all for every packet of a banned source", EnvVars: []string{"XDPBAN_PORTS"}},
		&cli.IntFlag{Name: "ipv6-prefix", Value: 128, Usage: "ban IPv6 sources per prefix of this `LENGTH` (64 bans a whole /64)", EnvVars: []string{"XDPBAN_IPV6_PREFIX"}},
		&cli.UintFlag{Name: "max-bans", Value: xdp.DefaultMaxBans, Usage: "capacity of the ban map (a pinned map keeps its size)", EnvVars: []string{"XDPBAN_MAX_BANS"}},
		&cli.StringFlag{Name: "listen", Value: "", Usage: "TLS listener `ADDR`; \"\" disables it", EnvVars: []string{"XDPBAN_LISTEN"}},
		&cli.DurationFlag{Name: "sweep-interval", Value: 0, Usage: "how often expired bans are removed from the map (default 10s)", EnvVars: []string{"XDPBAN_SWEEP_INTERVAL"}},
		pinDirFlag(),
	}
}

func optionsFromFlags(c *cli.Context) (daemon.Options, error) {
	var o daemon.Options
	if c.String("listen") != "" {
		return o, fmt.Errorf("--listen: the TLS listener is not wired into run yet; pass --listen \"\"")
	}
	mode, err := xdp.ParseMode(c.String("xdp-mode"))
	if err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	ports, err := xdp.ParsePorts(c.String("ports"))
	if err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	maxBans := uint32(0) // keep a pinned map's size unless asked
	if c.IsSet("max-bans") {
		if c.Uint("max-bans") < 1 || c.Uint("max-bans") > 1<<28 {
			return o, fmt.Errorf("--max-bans %d: must be from 1 to %d", c.Uint("max-bans"), 1<<28)
		}
		maxBans = uint32(c.Uint("max-bans"))
	}
	o.Datapath = daemon.DatapathOptions{
		Interfaces:    c.StringSlice("iface"),
		Mode:          mode,
		SweepInterval: c.Duration("sweep-interval"),
		Config: xdp.Config{
			PinDir:     c.String("pin-dir"),
			Ports:      ports,
			IPv6Prefix: c.Int("ipv6-prefix"),
			MaxBans:    maxBans,
		},
	}
	return o, nil
}
