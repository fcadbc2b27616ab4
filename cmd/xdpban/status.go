package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/xdp"
)

// statusReport is what `xdpban status --json` prints; scripts read it.
type statusReport struct {
	PinDir     string          `json:"pin_dir"`
	Interfaces []xdp.Interface `json:"interfaces"`
	Ports      string          `json:"ports"`
	IPv6Prefix int             `json:"ipv6_prefix"`
	MaxBans    uint32          `json:"max_bans"`
	Counters   xdp.Counters    `json:"counters"`
	Bans       []banReport     `json:"bans"`
}

type banReport struct {
	xdp.Ban
	RemainingSeconds int64 `json:"remaining_seconds"` // -1: permanent
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show interfaces, counters and every ban with its remaining time and drops",
		Description: "Reads the pinned maps read-only, so it works with or without the daemon.\n" +
			"Bans are sorted by expiry, permanent ones last.",
		Flags: []cli.Flag{
			pinDirFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			r, err := collectStatus(c.String("pin-dir"))
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printStatus(c.App.Writer, r, time.Now())
			return nil
		},
	}
}

func collectStatus(pinDir string) (*statusReport, error) {
	m, err := xdp.OpenPinned(pinDir, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	r := &statusReport{PinDir: m.PinDir(), Ports: m.Ports().String(), IPv6Prefix: m.IPv6Prefix(), MaxBans: m.MaxBans()}
	if r.Interfaces, err = xdp.Interfaces(pinDir); err != nil {
		return nil, err
	}
	if r.Counters, err = m.Counters(); err != nil {
		return nil, err
	}
	bans, err := m.List()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	r.Bans = make([]banReport, 0, len(bans))
	for _, b := range bans {
		rem := int64(b.Remaining(now).Seconds())
		if b.Permanent() {
			rem = -1
		}
		r.Bans = append(r.Bans, banReport{Ban: b, RemainingSeconds: rem})
	}
	return r, nil
}

func printStatus(w io.Writer, r *statusReport, now time.Time) {
	fmt.Fprintf(w, "XDP (pins in %s)\n", r.PinDir)
	if len(r.Interfaces) == 0 {
		fmt.Fprintln(w, "|- interfaces:   none attached")
	}
	for _, it := range r.Interfaces {
		state := string(it.Mode)
		if it.Defunct {
			state = "DEFUNCT: interface gone or program detached; restart xdpban"
		}
		fmt.Fprintf(w, "|- interface:    %s (%s)\n", it.Name, state)
	}
	fmt.Fprintf(w, "|- ports:        %s\n", r.Ports)
	fmt.Fprintf(w, "|- ipv6 prefix:  /%d\n", r.IPv6Prefix)
	fmt.Fprintf(w, "|- bans:         %d of %d\n", len(r.Bans), r.MaxBans)
	c := r.Counters
	fmt.Fprintf(w, "`- packets:      seen %d, passed %d, dropped %d, expired hits %d, parse failures %d\n",
		c.Seen, c.Passed, c.Dropped, c.Expired, c.ParseFails)
	if len(r.Bans) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BANNED\tREMAINING\tUNTIL\tDROPPED PACKETS\tDROPPED BYTES")
	for _, b := range r.Bans {
		rem, until := "permanent", "-"
		switch {
		case b.Expired:
			rem, until = "expired", b.Until.Local().Format(time.RFC3339)
		case !b.Permanent():
			rem, until = b.Remaining(now).Round(time.Second).String(), b.Until.Local().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", b.Prefix, rem, until, b.Packets, b.Bytes)
	}
	tw.Flush()
}
