package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// bannedAnswer is one line of `xdpban banned`.
type bannedAnswer struct {
	Target           string     `json:"target"`
	Banned           bool       `json:"banned"`
	Prefix           string     `json:"prefix,omitempty"` // the ban that covers it
	End              *time.Time `json:"end,omitempty"`    // absent: permanent
	RemainingSeconds int64      `json:"remaining_seconds,omitempty"`
	Permanent        bool       `json:"permanent,omitempty"`
}

func bannedCommand() *cli.Command {
	return &cli.Command{
		Name:      "banned",
		Usage:     "tell whether addresses are banned, and for how long",
		ArgsUsage: "ADDR...",
		Description: "Prints one line per address: banned with the time left, or not banned, as\n" +
			"the daemon's jail sees it, or the pinned map when no daemon runs. An IPv6\n" +
			"address counts as banned when its ban prefix (--ipv6-prefix) is.\n\n" +
			"Exit status, for scripts: 0 when every address is banned, 3 when one or\n" +
			"more is not, 1 on an error.",
		Flags: []cli.Flag{
			configFlag(), pinDirFlag(), controlSocketFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per address"},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			targets, err := targetArgs(c)
			if err != nil {
				return err
			}
			answers, err := askBanned(c.String("control-socket"), c.String("pin-dir"), targets, time.Now())
			if err != nil {
				return fmt.Errorf("banned: %w", err)
			}
			all := true
			for _, a := range answers {
				all = all && a.Banned
				printBanned(c.App.Writer, a, c.Bool("json"))
			}
			if !all {
				return exitNotBanned
			}
			return nil
		},
	}
}

func askBanned(socket, pinDir string, targets []netip.Prefix, now time.Time) ([]bannedAnswer, error) {
	req := control.Request{Cmd: control.CmdBanned}
	for _, t := range targets {
		req.Targets = append(req.Targets, t.String())
	}
	resp, up, err := askDaemon(socket, req)
	if err != nil {
		return nil, err
	}
	if up {
		out := make([]bannedAnswer, 0, len(resp.Banned))
		for i, b := range resp.Banned {
			a := bannedAnswer{Target: shortPrefix(targets[i])}
			if b.Ban != nil {
				a.fill(b.Ban.Prefix, b.Ban.End, now)
			}
			out = append(out, a)
		}
		return out, nil
	}
	m, err := xdp.OpenPinned(pinDir, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	out := make([]bannedAnswer, 0, len(targets))
	for _, t := range targets {
		a := bannedAnswer{Target: shortPrefix(t)}
		b, ok, err := m.Lookup(t.Addr())
		if err != nil {
			return nil, err
		}
		if ok && !b.Expired && b.Prefix.Bits() <= t.Bits() {
			a.fill(b.Prefix.String(), b.Until, now)
		}
		out = append(out, a)
	}
	return out, nil
}

func (a *bannedAnswer) fill(prefix string, end time.Time, now time.Time) {
	a.Banned = true
	if p, err := netip.ParsePrefix(prefix); err == nil {
		prefix = shortPrefix(p)
	}
	a.Prefix = prefix
	if end.IsZero() {
		a.Permanent = true
		return
	}
	a.End = &end
	a.RemainingSeconds = int64(end.Sub(now).Seconds())
}

func printBanned(w io.Writer, a bannedAnswer, asJSON bool) {
	if asJSON {
		json.NewEncoder(w).Encode(a)
		return
	}
	switch {
	case !a.Banned:
		fmt.Fprintf(w, "%s not banned\n", a.Target)
	case a.Permanent:
		fmt.Fprintf(w, "%s banned permanently%s\n", a.Target, by(a))
	default:
		left := jail.FormatDuration(time.Duration(a.RemainingSeconds) * time.Second)
		fmt.Fprintf(w, "%s banned for %s more, until %s%s\n", a.Target, left, a.End.Local().Format(time.RFC3339), by(a))
	}
}

// by names the wider ban that covers an address (an IPv6 /64).
func by(a bannedAnswer) string {
	if a.Prefix == a.Target {
		return ""
	}
	return " (by the ban of " + a.Prefix + ")"
}

// shortPrefix writes a single address bare, as fail2ban-client does, and
// a wider prefix in CIDR form.
func shortPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
