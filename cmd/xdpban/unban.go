package main

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/xdp"
)

func unbanCommand() *cli.Command {
	return &cli.Command{
		Name:      "unban",
		Usage:     "lift the bans on addresses or ranges, or every ban with --all",
		ArgsUsage: "ADDR[/PREFIX]... | --all",
		Description: "Through the daemon when it runs (so its store forgets the ban), otherwise\n" +
			"straight from the pinned ban map. Traffic passes at once. While a daemon holds\n" +
			"the pins but does not answer on --control-socket, it refuses (the jail would\n" +
			"keep the ban) and names the socket the daemon listens on. An address that a\n" +
			"wider ban covers (an IPv6 /64) lifts that ban. --all lifts every ban, as\n" +
			"fail2ban-client unban --all does.",
		Flags: []cli.Flag{
			configFlag(), pinDirFlag(), controlSocketFlag(),
			&cli.BoolFlag{Name: "all", Usage: "lift every ban"},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if c.Bool("all") {
				if err := exactArgs(c, 0, "no address with --all"); err != nil {
					return err
				}
				return unbanAll(c)
			}
			targets, err := targetArgs(c)
			if err != nil {
				return err
			}
			for i, target := range targets {
				_, up, err := askDaemon(c.String("control-socket"), control.Request{Cmd: "unban", Target: target.String()})
				if err == nil && !up {
					err = unbanDirect(c.String("pin-dir"), target)
				}
				if err != nil {
					return partly(err, i, "unbanned")
				}
				fmt.Fprintf(c.App.Writer, "unbanned %s\n", shortPrefix(target))
			}
			return nil
		},
	}
}

func unbanDirect(pinDir string, target netip.Prefix) error {
	return banset.UnbanPinned(pinDir, target)
}

// unbanAll lifts every ban, through the daemon or on the pins.
func unbanAll(c *cli.Context) error {
	resp, up, err := askDaemon(c.String("control-socket"), control.Request{Cmd: control.CmdUnbanAll})
	n := 0
	switch {
	case err != nil:
		return err
	case up:
		n = resp.Count
	default:
		if n, err = unbanAllDirect(c.String("pin-dir")); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.Writer, "unbanned %d\n", n)
	return nil
}

// unbanAllDirect lifts every entry of the pinned map, each as unban does.
func unbanAllDirect(pinDir string) (int, error) {
	m, err := xdp.OpenPinned(pinDir, true)
	if err != nil {
		return 0, fmt.Errorf("unban --all: %w", err)
	}
	bans, err := m.Entries()
	m.Close()
	if err != nil {
		return 0, fmt.Errorf("unban --all: %w", err)
	}
	n := 0
	for _, b := range bans {
		err := banset.UnbanPinned(pinDir, b.Prefix)
		switch {
		case err == nil:
			if !b.Expired {
				n++
			}
		case !errors.Is(err, xdp.ErrNotBanned): // gone meanwhile is fine
			return n, err
		}
	}
	return n, nil
}
