package main

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// defaultManualBan is the length of a manual ban without --duration when
// no daemon runs (with one, its bantime applies).
const defaultManualBan = time.Hour

func banCommand() *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban an address or IPv6 prefix now (works with or without the daemon)",
		ArgsUsage: "ADDR[/PREFIX]",
		Description: "With the daemon running, the ban goes through its jail and state store, so a\n" +
			"restart keeps it and status counts it. Without the daemon it is written straight\n" +
			"into the pinned ban map (the daemon adopts it when it starts); while a daemon\n" +
			"holds the pins but does not answer on --control-socket, it refuses and names\n" +
			"the socket the daemon listens on. ADDR is an IPv4 or IPv6 address; an IPv6\n" +
			"prefix must have the length the daemon bans with (--ipv6-prefix). A manual\n" +
			"ban applies even to addresses in ignoreip. It fails, and changes nothing, when\n" +
			"the map is full.",
		Flags: []cli.Flag{
			pinDirFlag(),
			controlSocketFlag(),
			&cli.StringFlag{
				Name:    "duration",
				Aliases: []string{"d"},
				Usage:   "how long, as fail2ban writes it: 600 (seconds), 10m, 1h30m, 1d, 1w, 1mo, 1y; 1s to 100y, or -1 for permanent (default: the daemon's bantime, else 1h)",
			},
		},
		Action: func(c *cli.Context) error {
			target, err := targetArg(c)
			if err != nil {
				return err
			}
			var d time.Duration
			if c.IsSet("duration") {
				if d, err = jail.ParseDuration(c.String("duration")); err != nil {
					return fmt.Errorf("ban: --duration: %w", err)
				}
				if d == 0 {
					return fmt.Errorf("ban: --duration must not be 0 (use -1 for permanent)")
				}
			}
			resp, err := control.Call(c.String("control-socket"), control.Request{Cmd: "ban", Target: target.String(), Duration: d})
			switch {
			case err == nil:
				fmt.Fprintf(c.App.Writer, "banned %s %s\n", target, describeEnd(resp.Ban.End))
				return nil
			case !errors.Is(err, control.ErrNoDaemon):
				return err
			}
			return banDirect(c, target, d)
		},
	}
}

// banDirect writes the ban into the pinned map when no daemon runs; with
// one holding the pins (another --control-socket given) it refuses.
func banDirect(c *cli.Context, target netip.Prefix, d time.Duration) error {
	if d == 0 {
		d = defaultManualBan
	}
	m, err := xdp.OpenDirect(c.String("pin-dir"))
	if err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	defer m.Close()
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	if err := m.Ban(target, until); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "banned %s %s\n", target, describeEnd(until))
	return nil
}

func describeEnd(until time.Time) string {
	if until.IsZero() {
		return "permanently"
	}
	return fmt.Sprintf("for %s (until %s)", time.Until(until).Round(time.Second), until.Format(time.RFC3339))
}
