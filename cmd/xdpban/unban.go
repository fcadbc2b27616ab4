package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/xdp"
)

func unbanCommand() *cli.Command {
	return &cli.Command{
		Name:        "unban",
		Usage:       "lift the ban on an address or IPv6 prefix",
		ArgsUsage:   "ADDR[/PREFIX]",
		Description: "Removes the entry from the pinned ban map; traffic passes at once.",
		Flags:       []cli.Flag{pinDirFlag()},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 1, "one address"); err != nil {
				return err
			}
			target, err := xdp.ParseTarget(c.Args().First())
			if err != nil {
				return fmt.Errorf("unban: %w", err)
			}
			m, err := xdp.OpenPinned(c.String("pin-dir"), false)
			if err != nil {
				return fmt.Errorf("unban: %w", err)
			}
			defer m.Close()
			if err := m.Unban(target); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "unbanned %s\n", target)
			return nil
		},
	}
}
