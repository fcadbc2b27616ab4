package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/daemon"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
)

// defaultManualBan is the length of a manual ban without --duration when
// no daemon runs (with one, its bantime applies).
const defaultManualBan = time.Hour

func banCommand() *cli.Command {
	return &cli.Command{
		Name:      "ban",
		Usage:     "ban addresses or ranges now (works with or without the daemon)",
		ArgsUsage: "ADDR[/PREFIX]...",
		Description: "With the daemon running, the ban goes through its jail and state store, so a\n" +
			"restart keeps it and status counts it. Without the daemon it is written straight\n" +
			"into the pinned ban map (the daemon adopts it when it starts); while a daemon\n" +
			"holds the pins but does not answer on --control-socket, it refuses and names\n" +
			"the socket the daemon listens on. ADDR is an IPv4 or IPv6 address, or a range\n" +
			"(IPv4 /8 to /31, IPv6 /16 up to --ipv6-prefix); an IPv6 address is banned as\n" +
			"its --ipv6-prefix (the prefix the map holds). A ban that would cover an\n" +
			"ignoreip or ignoreself address is refused (without the daemon, the list it\n" +
			"saved in --state-dir and the ignoreip of --config are used). It fails, and\n" +
			"changes nothing, when the map is full. On an address banned already it sets\n" +
			"the new end when that is later (fail2ban's actionprolong) and keeps a ban\n" +
			"that ends later or never: to shorten a ban, unban it first. Several addresses\n" +
			"are banned in turn; all are checked first, so a typo in one bans none.",
		Flags: []cli.Flag{
			configFlag(),
			pinDirFlag(),
			controlSocketFlag(),
			stateDirFlag(),
			configIgnoreIPFlag(),
			&cli.StringFlag{
				Name:    "duration",
				Aliases: []string{"d"},
				Usage:   "how long (`TIME`), as fail2ban writes it: 600 (seconds), 10m, 1h30m, 1d, 1w, 1mo, 1y; 1s to 100y, or -1 for permanent (default: the daemon's bantime, else 1h)",
			},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			targets, err := targetArgs(c)
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
			for i, target := range targets {
				if err := banOne(c, target, d); err != nil {
					return partly(err, i, "banned")
				}
			}
			return nil
		},
	}
}

// partly adds to the error of the i-th of several addresses that the ones
// before it took effect (and the ones after it were not tried).
func partly(err error, i int, done string) error {
	if i == 0 {
		return err
	}
	return fmt.Errorf("%w (the %d address(es) before it were %s, the rest left alone)", err, i, done)
}

// banOne bans target through the daemon, or on the pins without one.
func banOne(c *cli.Context, target netip.Prefix, d time.Duration) error {
	asked := time.Now().Add(d)
	resp, up, err := askDaemon(c.String("control-socket"), control.Request{Cmd: "ban", Target: target.String(), Duration: d})
	switch {
	case err != nil:
		return err
	case up:
		shown, _ := netip.ParsePrefix(resp.Ban.Prefix)
		printBan(c, shown, resp.Ban.End, d != 0 && endsSooner(asked, d, resp.Ban.End))
		return nil
	}
	return banDirect(c, target, d)
}

// banDirect writes the ban into the pinned map when no daemon runs; with
// one holding the pins (another --control-socket given) it refuses.
func banDirect(c *cli.Context, target netip.Prefix, d time.Duration) error {
	if d == 0 {
		d = defaultManualBan
	}
	ignore, err := savedIgnoreList(c.String("state-dir"), c.StringSlice("ignoreip"))
	if err != nil {
		return fmt.Errorf("ban: %w", err)
	}
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	p, end, kept, err := banset.BanPinned(c.String("pin-dir"), target, until, ignore)
	if err != nil {
		return err
	}
	printBan(c, p, end, kept)
	return nil
}

// configIgnoreIPFlag carries run's ignoreip from --config or XDPBAN_IGNOREIP
// to the commands that ban without the daemon. Hidden: it is read from the
// file, not given on the command line.
func configIgnoreIPFlag() *cli.StringSliceFlag {
	f := strs("ignoreip", "the configured `ADDR` or CIDR, as run has them (read from --config)")
	f.Hidden = true
	return f
}

// savedIgnoreList is the ignore rule of the daemon that started last with
// stateDir, or run's defaults when none has saved one. The ignoreip of
// --config (or XDPBAN_IGNOREIP) joins it: the file may have been edited
// since that start, and `ignore list` shows its entries as ignored, so a
// ban without the daemon must not drop them.
func savedIgnoreList(stateDir string, configured []string) (*jail.IgnoreList, error) {
	ig, err := state.LoadIgnore(stateDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		def := jail.DefaultConfig()
		ig = state.Ignore{IgnoreIP: def.IgnoreIP, IgnoreSelf: def.IgnoreSelf}
	case err != nil:
		return nil, err
	}
	extra, err := parseIgnoreIP(configured)
	if err != nil {
		return nil, err
	}
	ig.IgnoreIP = append(ig.IgnoreIP, extra...)
	var self func() []netip.Addr
	if ig.IgnoreSelf {
		self = daemon.SelfAddrs
	}
	return jail.NewIgnoreList(ig.IgnoreIP, self), nil
}

// endsSooner reports whether the ban asked for (until asked, or for good
// with d < 0) ends before the ban in force, which ends at end.
func endsSooner(asked time.Time, d time.Duration, end time.Time) bool {
	if end.IsZero() {
		return d > 0
	}
	return d > 0 && asked.Before(end.Add(-time.Second))
}

// printBan says what is in force; kept says a ban that ends later was
// there already and was left as it was.
func printBan(c *cli.Context, target netip.Prefix, end time.Time, kept bool) {
	if kept {
		fmt.Fprintf(c.App.Writer, "already banned %s %s; kept (a ban is never shortened: unban first)\n", shortPrefix(target), describeEnd(end))
		return
	}
	fmt.Fprintf(c.App.Writer, "banned %s %s\n", shortPrefix(target), describeEnd(end))
}

func describeEnd(until time.Time) string {
	if until.IsZero() {
		return "permanently"
	}
	return fmt.Sprintf("for %s (until %s)", jail.FormatDuration(time.Until(until)), until.Format(time.RFC3339))
}
