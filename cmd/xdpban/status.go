package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// statusReport is what `xdpban status --json` prints; scripts read it.
type statusReport struct {
	// Schema is the version of this layout: it changes when a field
	// changes meaning or goes, not when one is added.
	Schema int `json:"schema"`
	// Daemon is the running daemon's view (live failure counts); null when
	// no daemon answers.
	Daemon     *control.Status `json:"daemon"`
	Loaded     bool            `json:"xdp_loaded"`
	PinDir     string          `json:"pin_dir"`
	Interfaces []xdp.Interface `json:"interfaces"`
	Ports      string          `json:"ports"`
	IPv6Prefix int             `json:"ipv6_prefix"`
	MaxBans    uint32          `json:"max_bans"`
	Counters   xdp.Counters    `json:"counters"`
	Bans       []banReport     `json:"bans"`
}

// statusSchema is statusReport's Schema.
const statusSchema = 1

// banReport is one ban in status --json, the same shape whoever made it
// (the jail, a manual ban, a ban written without the daemon).
type banReport struct {
	xdp.Ban
	Address          string `json:"address"`           // as the Banned IP list writes it
	RemainingSeconds int64  `json:"remaining_seconds"` // -1: permanent
	// Origin (jail, manual, crowdsec, restored) and Count come from the
	// running daemon; without a daemon they are "" and 0.
	Origin string `json:"origin,omitempty"`
	Count  int    `json:"count,omitempty"`
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show interfaces, counters and every ban with its remaining time and drops",
		Description: "First a fail2ban-client-like summary (live from the daemon when it runs),\n" +
			"then the XDP program (interfaces, mode, counters) and every ban in the pinned\n" +
			"map with its remaining time and drops, sorted by expiry. Reads the pins\n" +
			"read-only, so it works with or without the daemon. Exits 2, after the\n" +
			"report, when the program is not attached to an interface it was attached\n" +
			"to (gone, or another XDP program on it), or to none.",
		Flags: []cli.Flag{
			configFlag(),
			pinDirFlag(),
			controlSocketFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			r, err := collectStatus(c.String("pin-dir"), c.String("control-socket"))
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				printStatus(c.App.Writer, r, time.Now())
			}
			return notEnforcing(r)
		},
	}
}

// notEnforcing is status's exit 2: the program is loaded, but an
// interface it was attached to runs it no more (gone, or another
// program on the interface that came back), or none has it at all.
func notEnforcing(r *statusReport) error {
	if !r.Loaded {
		return nil
	}
	var down []string
	for _, it := range r.Interfaces {
		if !it.Attached {
			down = append(down, it.Name)
		}
	}
	switch {
	case len(r.Interfaces) == 0:
		return exitError{2, errors.New("status: the XDP program is attached to no interface: banned sources are not dropped (start `xdpban run --iface NAME`)")}
	case len(down) > 0:
		return exitError{2, fmt.Errorf("status: the XDP program is not attached to %s: banned sources there are not dropped (the daemon attaches again when the interface is back; see its log)", strings.Join(down, ", "))}
	}
	return nil
}

func collectStatus(pinDir, socket string) (*statusReport, error) {
	r := &statusReport{Schema: statusSchema, PinDir: pinDir, Bans: []banReport{}}
	resp, up, err := askDaemon(socket, control.Request{Cmd: "status"})
	if err != nil {
		return nil, err
	}
	if up {
		r.Daemon = resp.Status
	}
	m, err := xdp.OpenPinned(pinDir, true)
	if err != nil {
		// A log-only daemon has no pins (and its user may lack the
		// capabilities to look): its own view is all there is.
		if (errors.Is(err, xdp.ErrNotLoaded) || errors.Is(err, xdp.ErrNoPrivilege)) && r.Daemon != nil && r.Daemon.LogOnly {
			return r, nil
		}
		return nil, err
	}
	defer m.Close()
	r.Loaded, r.Ports, r.IPv6Prefix, r.MaxBans = true, m.Ports().String(), m.IPv6Prefix(), m.MaxBans()
	if r.Interfaces, err = xdp.Interfaces(pinDir); err != nil {
		return nil, err
	}
	for i := range r.Interfaces {
		if it := &r.Interfaces[i]; it.Ifindex > 0 {
			c, err := m.InterfaceCounters(it.Ifindex)
			if err != nil {
				return nil, err
			}
			it.Counters = &c
		}
	}
	if r.Counters, err = m.Counters(); err != nil {
		return nil, err
	}
	bans, err := m.List()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	jailBans := map[string]control.Ban{}
	if r.Daemon != nil {
		for _, b := range r.Daemon.Bans {
			jailBans[b.Prefix] = b
		}
	}
	r.Bans = make([]banReport, 0, len(bans))
	for _, b := range bans {
		rem := int64(b.Remaining(now).Seconds())
		if b.Permanent() {
			rem = -1
		}
		jb := jailBans[b.Prefix.String()]
		r.Bans = append(r.Bans, banReport{Ban: b, Address: shortPrefix(b.Prefix), RemainingSeconds: rem, Origin: jb.Origin, Count: jb.Count})
	}
	return r, nil
}

func printStatus(w io.Writer, r *statusReport, now time.Time) {
	printJail(w, r, now)
	if !r.Loaded {
		fmt.Fprintln(w, "\nXDP: not loaded (log-only: stock fail2ban bans)")
		return
	}
	fmt.Fprintf(w, "\nXDP (pins in %s)\n", r.PinDir)
	if len(r.Interfaces) == 0 {
		fmt.Fprintln(w, "|- interfaces:   none attached")
	}
	for _, it := range r.Interfaces {
		state := string(it.Mode)
		switch {
		case !it.Attached:
			state = "NOT ATTACHED: interface gone, or another program on it"
		case it.Current != "" && it.Current != it.Name:
			state += ", renamed to " + it.Current
		}
		fmt.Fprintf(w, "|- interface:    %s (%s)", it.Name, state)
		if c := it.Counters; c != nil {
			fmt.Fprintf(w, ": seen %d, dropped %d", c.Seen, c.Dropped)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "|- ports:        %s\n", r.Ports)
	fmt.Fprintf(w, "|- ipv6 prefix:  /%d\n", r.IPv6Prefix)
	inForce := 0
	for _, b := range r.Bans {
		if !b.Expired {
			inForce++
		}
	}
	fmt.Fprintf(w, "|- bans:         %d in force", inForce)
	if n := len(r.Bans) - inForce; n > 0 {
		fmt.Fprintf(w, " (and %d ended, not yet swept)", n)
	}
	fmt.Fprintf(w, ", room for %d\n", r.MaxBans)
	c := r.Counters
	fmt.Fprintf(w, "`- packets:      seen %d, passed %d, dropped %d, expired hits %d, parse failures %d\n",
		c.Seen, c.Passed, c.Dropped, c.Expired, c.ParseFails)
	if r.Daemon != nil && r.Daemon.CrowdSec != nil {
		printCrowdSec(w, r.Daemon.CrowdSec, now)
	}
	if len(r.Bans) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BANNED\tREMAINING\tUNTIL\tDROPPED PACKETS\tDROPPED BYTES\tORIGIN")
	for _, b := range r.Bans {
		rem, until := "permanent", "-"
		switch {
		case b.Expired:
			rem, until = "expired", b.Until.Local().Format(time.RFC3339)
		case !b.Permanent():
			rem, until = jail.FormatDuration(b.Remaining(now)), b.Until.Local().Format(time.RFC3339)
		}
		origin := b.Origin
		if origin == "" {
			origin = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", b.Address, rem, until, b.Packets, b.Bytes, origin)
	}
	tw.Flush()
}
