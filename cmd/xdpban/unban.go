package main

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
)

func unbanCommand() *cli.Command {
	return &cli.Command{
		Name:      "unban",
		Usage:     "lift the ban on an address or a range",
		ArgsUsage: "ADDR[/PREFIX]",
		Description: "Through the daemon when it runs (so its store forgets the ban), otherwise\n" +
			"straight from the pinned ban map. Traffic passes at once. While a daemon holds\n" +
			"the pins but does not answer on --control-socket, it refuses (the jail would\n" +
			"keep the ban) and names the socket the daemon listens on.",
		Flags: []cli.Flag{pinDirFlag(), controlSocketFlag()},
		Action: func(c *cli.Context) error {
			target, err := targetArg(c)
			if err != nil {
				return err
			}
			_, err = control.Call(c.String("control-socket"), control.Request{Cmd: "unban", Target: target.String()})
			if errors.Is(err, control.ErrNoDaemon) {
				err = unbanDirect(c.String("pin-dir"), target)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "unbanned %s\n", target)
			return nil
		},
	}
}

func unbanDirect(pinDir string, target netip.Prefix) error {
	return banset.UnbanPinned(pinDir, target)
}
