package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// selfRefresh is how long the host's addresses are cached: asking for
// them is I/O in the caller, too slow for every failure.
const selfRefresh = time.Minute

// ErrCoversIgnored is why a ban was refused: its prefix holds an address
// that ignoreip or ignoreself keeps, so enforcing it would drop that
// address too (an IPv6 ban covers the whole --ipv6-prefix).
var ErrCoversIgnored = errors.New("refused: it covers an ignoreip address")

// IgnoreList is ignoreip plus, with ignoreself, the host's own addresses.
// Its CheckBan is the one rule every ban passes, whoever makes it: the
// jail's, a manual one (through the daemon or straight into the pins), a
// restored one. It is not safe for concurrent use; the jail calls it
// under its lock.
type IgnoreList struct {
	prefixes []netip.Prefix
	selfFn   func() []netip.Addr
	self     []netip.Addr
	selfAt   time.Time
}

// NewIgnoreList returns the list of prefixes and, when self is not nil,
// the addresses it returns (asked at most once a minute).
func NewIgnoreList(prefixes []netip.Prefix, self func() []netip.Addr) *IgnoreList {
	l := &IgnoreList{selfFn: self}
	for _, p := range prefixes {
		l.prefixes = append(l.prefixes, normPrefix(p))
	}
	return l
}

func newIgnoreList(c Config) *IgnoreList {
	var self func() []netip.Addr
	if c.IgnoreSelf {
		self = c.SelfAddrs
	}
	return NewIgnoreList(c.IgnoreIP, self)
}

// CheckBan returns an error wrapping ErrCoversIgnored, naming the ignored
// entry, when a ban of p would block an ignored address. p must be the
// prefix as enforced (see BanPrefix): checking the address while the map
// holds its /64 is how a partner got dropped.
func (l *IgnoreList) CheckBan(p netip.Prefix, now time.Time) error {
	l.refresh(now)
	p = normPrefix(p)
	for _, q := range l.prefixes {
		if q.Overlaps(p) {
			return fmt.Errorf("%w (%s)", ErrCoversIgnored, q)
		}
	}
	for _, s := range l.self {
		if p.Contains(s) {
			return fmt.Errorf("%w (%s, this host's own; ignoreself)", ErrCoversIgnored, s)
		}
	}
	return nil
}

// refresh reloads the host's addresses when the cache is older than
// selfRefresh.
func (l *IgnoreList) refresh(now time.Time) {
	if l.selfFn == nil {
		return
	}
	if age := now.Sub(l.selfAt); !l.selfAt.IsZero() && age >= 0 && age < selfRefresh {
		return
	}
	l.self = l.self[:0]
	for _, a := range l.selfFn() {
		l.self = append(l.self, a.Unmap())
	}
	l.selfAt = now
}

// containsAddr reports whether a is ignored.
func (l *IgnoreList) containsAddr(a netip.Addr) bool {
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	for _, s := range l.self {
		if s == a {
			return true
		}
	}
	return false
}

// BanPrefix returns what a ban of p covers once in force: p masked, an
// IPv4-mapped prefix as plain IPv4, and a single IPv6 address widened to
// the IPv6 ban prefix, because the XDP program masks every IPv6 source to
// that length before its lookup. Jail, map, store and status all hold
// this prefix, so they agree on what is banned.
func BanPrefix(p netip.Prefix, ipv6Prefix int) netip.Prefix {
	p = normPrefix(p)
	if a := p.Addr(); a.Is6() && p.Bits() == 128 && ipv6Prefix >= 1 && ipv6Prefix < 128 {
		p, _ = a.Prefix(ipv6Prefix)
	}
	return p
}

// normPrefix is the one rule for how a ban's prefix is written.
func normPrefix(p netip.Prefix) netip.Prefix { return event.NormPrefix(p) }
