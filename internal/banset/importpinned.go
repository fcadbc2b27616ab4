package banset

import (
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// ImportPinned bans many at once straight in the map pinned under pinDir,
// for `xdpban import` while no daemon runs: one open of the pins for all,
// the ignore rule the daemon saved applied to each (as BanPinned does),
// bans already over skipped. It returns the bans in force, as the map
// holds them, for the caller to store with their counts; refused while a
// daemon holds the pins.
func ImportPinned(pinDir string, bans []jail.Ban, ignore *jail.IgnoreList) ([]jail.Ban, error) {
	m, err := xdp.OpenDirect(pinDir)
	if err != nil {
		return nil, err // the command says "import"
	}
	defer m.Close()
	now := time.Now()
	out := make([]jail.Ban, 0, len(bans))
	for _, b := range bans {
		if !b.ActiveAt(now) {
			continue
		}
		b.Prefix = jail.BanPrefix(b.Prefix, m.IPv6Prefix())
		if ignore.CheckBan(b.Prefix, now) != nil {
			continue
		}
		if err := m.BanMap().Ban(b.Prefix, b.End); err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}
