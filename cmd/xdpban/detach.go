package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/xdp"
)

func detachCommand() *cli.Command {
	return &cli.Command{
		Name:  "detach",
		Usage: "remove the XDP program, its links and pins",
		Description: "Without --iface, removes every link and every pin (the bans are dropped).\n" +
			"With --iface, removes only that interface's link and keeps the bans.\n" +
			"Refuses while the daemon runs: stop it first (systemctl stop xdpban).",
		Flags: []cli.Flag{
			str("config", "", "read --pin-dir from the `FILE` run uses (its iface list is not used)"),
			pinDirFlag(),
			&cli.StringFlag{Name: "iface", Usage: "detach only from interface `NAME`"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if err := applyConfigFile(c, "pin-dir"); err != nil {
				return err
			}
			removed, err := xdp.Detach(c.String("pin-dir"), c.String("iface"))
			for _, name := range removed {
				fmt.Fprintf(c.App.Writer, "detached from %s\n", name)
			}
			if err != nil {
				return err
			}
			if c.String("iface") == "" {
				fmt.Fprintf(c.App.Writer, "removed %s\n", c.String("pin-dir"))
			}
			return nil
		},
	}
}
