package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

func banCommand() *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban an address or IPv6 prefix now (works with or without the daemon)",
		ArgsUsage: "ADDR[/PREFIX]",
		Description: "Writes the ban straight into the pinned ban map. ADDR is an IPv4 or IPv6\n" +
			"address; an IPv6 prefix must have the length the daemon bans with (--ipv6-prefix).\n" +
			"A manual ban applies even to addresses in ignoreip. It fails, and changes nothing,\n" +
			"when the map is full.",
		Flags: []cli.Flag{
			pinDirFlag(),
			&cli.StringFlag{
				Name:    "duration",
				Aliases: []string{"d"},
				Usage:   "how long: seconds (600), 10m, 1h, 1d, or -1 for permanent",
				Value:   "1h",
			},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 1, "one address"); err != nil {
				return err
			}
			target, err := xdp.ParseTarget(c.Args().First())
			if err != nil {
				return fmt.Errorf("ban: %w", err)
			}
			d, err := jail.ParseDuration(c.String("duration"))
			if err != nil {
				return fmt.Errorf("ban: --duration: %w", err)
			}
			if d == 0 {
				return fmt.Errorf("ban: --duration must not be 0 (use -1 for permanent)")
			}
			m, err := xdp.OpenPinned(c.String("pin-dir"), false)
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
		},
	}
}

func describeEnd(until time.Time) string {
	if until.IsZero() {
		return "permanently"
	}
	return fmt.Sprintf("for %s (until %s)", time.Until(until).Round(time.Second), until.Format(time.RFC3339))
}
