package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// banLine is one line of `xdpban export`, read back by `xdpban import`.
type banLine struct {
	Address   string     `json:"address"`         // 198.18.0.2, or 2001:db8::/64 for a wider ban
	End       *time.Time `json:"end,omitempty"`   // absent: permanent
	Start     *time.Time `json:"start,omitempty"` // when the ban began
	BanCount  int        `json:"ban_count"`       // this address's ban number (bantime.increment)
	Origin    string     `json:"origin"`          // jail, manual, restored, imported, fail2ban, pinned
	Reason    string     `json:"reason,omitempty"`
	Permanent bool       `json:"permanent,omitempty"`
}

// reasons says in words why a ban of each origin exists.
var reasons = map[string]string{
	"jail":     "maxretry failures within findtime",
	"manual":   "banned with xdpban ban",
	"restored": "found in the pinned map at start",
	"imported": "imported with xdpban import",
	"fail2ban": "imported from fail2ban's database",
	"pinned":   "in the pinned map (no daemon running to say more)",
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "print every ban in force as JSON lines, for xdpban import",
		Description: "One JSON object per line: address (bare, or a CIDR for a wider ban), end\n" +
			"(RFC 3339; absent with \"permanent\": true), start, ban_count, origin, reason.\n" +
			"From the daemon when it runs, otherwise from the pinned map, with the ban count,\n" +
			"start and origin the store in --state-dir keeps (origin \"pinned\" and ban_count\n" +
			"1 for a ban it does not know). xdpban import reads it back on this host or\n" +
			"another.",
		Flags: []cli.Flag{configFlag(), pinDirFlag(), controlSocketFlag(), stateDirFlag()},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			bans, err := exportedBans(c.String("control-socket"), c.String("pin-dir"), c.String("state-dir"))
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			w := bufio.NewWriterSize(c.App.Writer, 1<<16)
			enc := json.NewEncoder(w)
			for _, b := range bans {
				if err := enc.Encode(b); err != nil {
					return fmt.Errorf("export: %w", err)
				}
			}
			return w.Flush()
		},
	}
}

func exportedBans(socket, pinDir, stateDir string) ([]banLine, error) {
	resp, up, err := askDaemon(socket, control.Request{Cmd: control.CmdExport})
	if err != nil {
		return nil, err
	}
	if up {
		out := make([]banLine, 0, len(resp.Status.Bans))
		for _, b := range resp.Status.Bans {
			p, err := netip.ParsePrefix(b.Prefix)
			if err != nil {
				return nil, err
			}
			out = append(out, newBanLine(p, b.Start, b.End, b.Count, b.Origin))
		}
		return out, nil
	}
	m, err := xdp.OpenPinned(pinDir, true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	entries, err := m.List()
	if err != nil {
		return nil, err
	}
	stored := storedBans(stateDir)
	out := make([]banLine, 0, len(entries))
	for _, b := range entries {
		if b.Expired {
			continue
		}
		if s, ok := stored[b.Prefix]; ok {
			end := b.Until
			// The map's end is the kernel clock's, a tick coarse: the
			// store's is the one the ban was given, when it is the same
			// ban (a ban written around the store keeps the map's).
			if s.End.IsZero() == end.IsZero() && s.End.Sub(end).Abs() < time.Second {
				end = s.End
			}
			out = append(out, newBanLine(b.Prefix, s.Start, end, s.Count, string(s.Origin)))
			continue
		}
		out = append(out, newBanLine(b.Prefix, b.Created, b.Until, 1, "pinned"))
	}
	return out, nil
}

// storedBans is what the store in dir keeps of the bans in force, so an
// export without the daemon carries ban counts. A store that is missing
// or cannot be read gives nothing: the pinned map alone still exports.
func storedBans(dir string) map[netip.Prefix]jail.Ban {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	s, err := openStore(dir)
	if err != nil {
		return nil
	}
	defer s.Close()
	bans, err := s.ActiveBans()
	if err != nil {
		return nil
	}
	out := make(map[netip.Prefix]jail.Ban, len(bans))
	for _, b := range bans {
		out[b.Prefix] = b
	}
	return out
}

func newBanLine(p netip.Prefix, start, end time.Time, count int, origin string) banLine {
	l := banLine{Address: shortPrefix(p), BanCount: count, Origin: origin, Reason: reasons[origin]}
	if !start.IsZero() {
		l.Start = &start
	}
	if end.IsZero() {
		l.Permanent = true
	} else {
		l.End = &end
	}
	return l
}
