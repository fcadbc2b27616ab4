package banset

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// BanPinned bans target until the given time (zero: permanent) straight
// in the map pinned under pinDir, for `xdpban ban` while no daemon runs:
// while the machine stays up the map is the truth, so the next start
// adopts it. It bans what the map enforces (jail.BanPrefix: an IPv6
// address as its ban prefix) after the jail's own ignore rule, with the
// list the daemon saved, has had its say; as with the daemon, a ban in
// force that ends later is kept (kept, with its end). It is refused while
// a daemon holds the pins (xdp.OpenDirect). A full map fails with
// xdp.ErrFull: a manual ban must not push anyone out.
func BanPinned(pinDir string, target netip.Prefix, until time.Time, ignore *jail.IgnoreList) (p netip.Prefix, end time.Time, kept bool, err error) {
	m, err := xdp.OpenDirect(pinDir)
	if err != nil {
		return netip.Prefix{}, time.Time{}, false, fmt.Errorf("ban: %w", err)
	}
	defer m.Close()
	p = jail.BanPrefix(target, m.IPv6Prefix())
	if err := ignore.CheckBan(p, time.Now()); err != nil {
		return p, time.Time{}, false, fmt.Errorf("ban %s: %w", p, err)
	}
	b, ok, err := m.Get(p)
	if err != nil {
		return p, time.Time{}, false, fmt.Errorf("ban: %w", err)
	}
	if ok && !b.Expired && (b.Permanent() || (!until.IsZero() && !until.After(b.Until))) {
		return p, b.Until, true, nil
	}
	return p, until, false, m.BanMap().Ban(p, until)
}

// UnbanPinned lifts the ban on p straight in the map pinned under
// pinDir, for `xdpban unban` while no daemon runs (refused while one
// does); the next start drops it from the store too.
func UnbanPinned(pinDir string, p netip.Prefix) error {
	m, err := xdp.OpenDirect(pinDir)
	if err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	defer m.Close()
	return m.BanMap().Unban(p)
}
