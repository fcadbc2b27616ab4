package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/xdp"
)

func ignoreCommand() *cli.Command {
	flags := func() []cli.Flag {
		return []cli.Flag{configFlag(), stateDirFlag(), pinDirFlag(), controlSocketFlag(),
			strs("ignoreip", "the configured `ADDR` or CIDR, as run has them (read from --config)", "127.0.0.0/8", "::1")}
	}
	// The subcommands' flags, hidden, on ignore itself too: `xdpban ignore
	// bogus --config F` must say the subcommand is unknown, not the flag.
	hidden := flags()
	for _, f := range hidden {
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Hidden = true
		case *cli.StringSliceFlag:
			f.Hidden = true
		}
	}
	return &cli.Command{
		Name:  "ignore",
		Flags: hidden,
		Usage: "add to, remove from or list ignoreip at runtime (kept across restarts)",
		Description: "As fail2ban-client's addignoreip, delignoreip and get ignoreip. Entries added\n" +
			"here are kept in the store (--state-dir) and join --ignoreip at every start;\n" +
			"those of the config are changed in the config. Adding an entry lifts the bans\n" +
			"it covers, manual ones too: its traffic must pass. Through the daemon when it\n" +
			"runs, otherwise in the store and the pinned map.",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("ignore: unknown subcommand %q: use add, del or list (see `xdpban ignore --help`)", c.Args().First())
			}
			return cli.ShowSubcommandHelp(c)
		},
		Subcommands: []*cli.Command{
			{
				Name: "add", Usage: "never ban ADDR or CIDR, and lift its bans", ArgsUsage: "ADDR|CIDR",
				Flags:  flags(),
				Action: func(c *cli.Context) error { return ignoreChange(c, true) },
			},
			{
				Name: "del", Usage: "remove an entry added with ignore add", ArgsUsage: "ADDR|CIDR",
				Flags:  flags(),
				Action: func(c *cli.Context) error { return ignoreChange(c, false) },
			},
			{
				Name: "list", Usage: "print ignoreip, one entry per line",
				Flags: flags(),
				Action: func(c *cli.Context) error {
					if err := applyConfigFile(c); err != nil {
						return err
					}
					if err := exactArgs(c, 0, "no arguments"); err != nil {
						return err
					}
					list, err := ignoreList(c)
					if err != nil {
						return fmt.Errorf("ignore list: %w", err)
					}
					for _, s := range list {
						if p, err := netip.ParsePrefix(s); err == nil {
							s = shortPrefix(p)
						}
						fmt.Fprintln(c.App.Writer, s)
					}
					return nil
				},
			},
		},
	}
}

func ignoreArg(c *cli.Context) (netip.Prefix, error) {
	if err := exactArgs(c, 1, "one address or CIDR"); err != nil {
		return netip.Prefix{}, err
	}
	ps, err := parseIgnoreIP([]string{c.Args().First()})
	if err != nil || len(ps) != 1 {
		return netip.Prefix{}, fmt.Errorf("ignore %s: %q is not one address or CIDR", c.Command.Name, c.Args().First())
	}
	return ps[0], nil
}

func ignoreChange(c *cli.Context, add bool) error {
	if err := applyConfigFile(c); err != nil {
		return err
	}
	p, err := ignoreArg(c)
	if err != nil {
		return err
	}
	cmd := control.CmdIgnoreDel
	if add {
		cmd = control.CmdIgnoreAdd
	}
	resp, up, err := askDaemon(c.String("control-socket"), control.Request{Cmd: cmd, Target: p.String()})
	lifted := 0
	switch {
	case err != nil:
		return err
	case up:
		lifted = resp.Count
	case add:
		if lifted, err = ignoreAddDirect(c, p); err != nil {
			return fmt.Errorf("ignore add %s: %w", p, err)
		}
	default:
		if err := ignoreDelDirect(c, p); err != nil {
			return err
		}
	}
	if add {
		fmt.Fprintf(c.App.Writer, "ignoring %s; lifted %d ban(s)\n", shortPrefix(p), lifted)
	} else {
		fmt.Fprintf(c.App.Writer, "%s no longer ignored\n", shortPrefix(p))
	}
	return nil
}

// ignoreAddDirect keeps p in the store and lifts the pinned bans it
// covers; the daemon's next start drops the stored ones (Restore's rule).
func ignoreAddDirect(c *cli.Context, p netip.Prefix) (int, error) {
	pinDir := c.String("pin-dir")
	// The store first: a daemon holds it (a wrong --control-socket), and
	// then nothing changes.
	s, err := openStore(c.String("state-dir"))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := s.AddIgnoreIP(p); err != nil {
		return 0, err
	}
	if err := updateSavedIgnore(c.String("state-dir"), p, true); err != nil {
		return 0, err
	}
	m, err := xdp.OpenPinned(pinDir, true)
	if errors.Is(err, xdp.ErrNotLoaded) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	bans, err := m.Entries()
	m.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range bans {
		if !b.Prefix.Overlaps(p) {
			continue
		}
		err := banset.UnbanPinned(pinDir, b.Prefix)
		switch {
		case err == nil:
			if !b.Expired {
				n++
			}
		case !errors.Is(err, xdp.ErrNotBanned):
			return n, err
		}
	}
	return n, nil
}

func ignoreDelDirect(c *cli.Context, p netip.Prefix) error {
	if list, _ := parseIgnoreIP(c.StringSlice("ignoreip")); slices.Contains(list, p) {
		return fmt.Errorf("ignore del %s: it comes from --ignoreip (the config); remove it there", p)
	}
	s, err := openStore(c.String("state-dir"))
	if err != nil {
		return fmt.Errorf("ignore del %s: %w", p, err)
	}
	defer s.Close()
	found, err := s.DelIgnoreIP(p)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("ignore del %s: not added with xdpban ignore add (see xdpban ignore list)", p)
	}
	return updateSavedIgnore(c.String("state-dir"), p, false)
}

// updateSavedIgnore changes the ignore list the last daemon saved for
// xdpban ban without a daemon; with none saved, nothing to change (ban
// then starts from run's defaults and the store's entries come with the
// next start).
func updateSavedIgnore(dir string, p netip.Prefix, add bool) error {
	ig, err := state.LoadIgnore(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ig.IgnoreIP = slices.DeleteFunc(ig.IgnoreIP, func(q netip.Prefix) bool { return q == p })
	if add {
		ig.IgnoreIP = append(ig.IgnoreIP, p)
	}
	return state.SaveIgnore(dir, ig)
}

func ignoreList(c *cli.Context) ([]string, error) {
	resp, up, err := askDaemon(c.String("control-socket"), control.Request{Cmd: control.CmdIgnoreLs})
	if err != nil {
		return nil, err
	}
	if up {
		return *resp.Ignore, nil
	}
	configured, err := parseIgnoreIP(c.StringSlice("ignoreip"))
	if err != nil {
		return nil, err
	}
	s, err := openStore(c.String("state-dir"))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	added, err := s.IgnoreIP()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range append(configured, added...) {
		if s := p.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// openStore opens the store when no daemon holds it; a warning about a
// corrupt file is an error here: the daemon should be the one to act on it.
func openStore(dir string) (*state.Store, error) {
	s, warn, err := state.Open(dir)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		s.Close()
		return nil, errors.New(warn.String())
	}
	return s, nil
}
