package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "show an address's failures, bans and ban count",
		ArgsUsage: "ADDR",
		Description: "From the daemon when it runs (its failures on record within findtime, and\n" +
			"the store's bans), otherwise from the store in --state-dir (bans only: failures\n" +
			"are counted by the running daemon). The ban count is what bantime.increment\n" +
			"goes by: the bans recorded within dbpurgeage. Without a daemon, whether it is\n" +
			"banned now is read from the pinned map.",
		Flags: []cli.Flag{
			configFlag(), stateDirFlag(), pinDirFlag(), controlSocketFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if err := exactArgs(c, 1, "one address"); err != nil {
				return err
			}
			a, err := netip.ParseAddr(c.Args().First())
			if err != nil {
				return fmt.Errorf("history: %q is not an IP address", c.Args().First())
			}
			h, err := askHistory(c.String("control-socket"), c.String("state-dir"), c.String("pin-dir"), a)
			if err != nil {
				return fmt.Errorf("history %s: %w", a, err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(h)
			}
			printHistory(c.App.Writer, h, time.Now())
			return nil
		},
	}
}

// historyReport is what `xdpban history --json` prints; Failures is -1
// when no daemon runs to count them.
type historyReport struct {
	control.History
	BanCount int `json:"ban_count"`
}

func askHistory(socket, stateDir, pinDir string, a netip.Addr) (*historyReport, error) {
	resp, up, err := askDaemon(socket, control.Request{Cmd: control.CmdHistory, Target: a.String()})
	if err != nil {
		return nil, err
	}
	if up {
		return &historyReport{History: *resp.History, BanCount: len(resp.History.Bans)}, nil
	}
	s, err := openStore(stateDir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	h, err := s.History(a)
	if err != nil {
		return nil, err
	}
	r := &historyReport{History: control.History{Target: a.Unmap().String(), Failures: -1, Bans: []time.Time{}}}
	for _, b := range h.Starts {
		r.Bans = append(r.Bans, b.Start)
	}
	now := time.Now()
	for _, b := range h.Stored {
		if b.ActiveAt(now) {
			r.Current = &control.Ban{Prefix: b.Prefix.String(), Start: b.Start, End: b.End, Origin: string(b.Origin), Count: b.Count}
		}
	}
	r.BanCount = len(r.Bans)
	// Without a daemon the map is what is enforced: bans made there by
	// xdpban ban are not in the store until a daemon adopts them.
	m, err := xdp.OpenPinned(pinDir, true)
	switch {
	case errors.Is(err, xdp.ErrNotLoaded):
		return r, nil
	case err != nil:
		return nil, err
	}
	defer m.Close()
	b, ok, err := m.Lookup(a)
	switch {
	case err != nil:
		return nil, err
	case !ok || b.Expired:
		r.Current = nil
	case r.Current == nil || r.Current.Prefix != b.Prefix.String():
		r.Current = &control.Ban{Prefix: b.Prefix.String(), Start: b.Created, End: b.Until, Origin: "pinned"}
	}
	return r, nil
}

func printHistory(w io.Writer, h *historyReport, now time.Time) {
	fmt.Fprintf(w, "History of %s\n", h.Target)
	if h.Failures < 0 {
		fmt.Fprintln(w, "|- Failures now:\tunknown (the running daemon counts them)")
	} else {
		fmt.Fprintf(w, "|- Failures now:\t%d (within findtime)\n", h.Failures)
	}
	fmt.Fprintf(w, "|- Ban count:\t%d\n", h.BanCount)
	for i, t := range h.Bans {
		branch := "|-" // the last one closes the subtree, as fail2ban-client's status does
		if i == len(h.Bans)-1 {
			branch = "`-"
		}
		fmt.Fprintf(w, "|  %s banned at\t%s\n", branch, t.Local().Format(time.RFC3339))
	}
	switch b := h.Current; {
	case b == nil:
		fmt.Fprintln(w, "`- Banned now:\tno")
	case b.End.IsZero():
		fmt.Fprintf(w, "`- Banned now:\tyes, permanently (%s, %s)\n", b.Prefix, b.Origin)
	default:
		fmt.Fprintf(w, "`- Banned now:\tyes, %s left, until %s (%s, %s)\n", jail.FormatDuration(b.End.Sub(now)), b.End.Local().Format(time.RFC3339), b.Prefix, b.Origin)
	}
}
