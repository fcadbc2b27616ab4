package jail

import (
	"net/netip"
	"time"
)

// selfRefresh is how long the host's addresses are cached: asking for
// them is I/O in the caller, too slow for every failure.
const selfRefresh = time.Minute

// ignoreList answers whether an address or prefix is covered by ignoreip
// or ignoreself.
type ignoreList struct {
	prefixes []netip.Prefix
	selfFn   func() []netip.Addr
	self     []netip.Addr
	selfAt   time.Time
}

func newIgnoreList(c Config) ignoreList {
	l := ignoreList{}
	for _, p := range c.IgnoreIP {
		l.prefixes = append(l.prefixes, normPrefix(p))
	}
	if c.IgnoreSelf {
		l.selfFn = c.SelfAddrs
	}
	return l
}

// refresh reloads the host's addresses when the cache is older than
// selfRefresh.
func (l *ignoreList) refresh(now time.Time) {
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
func (l *ignoreList) containsAddr(a netip.Addr) bool {
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

// overlaps reports whether banning p would ban an ignored address.
func (l *ignoreList) overlaps(p netip.Prefix) bool {
	for _, q := range l.prefixes {
		if q.Overlaps(p) {
			return true
		}
	}
	for _, s := range l.self {
		if p.Contains(s) {
			return true
		}
	}
	return false
}

// normPrefix returns p masked, with an IPv4-mapped IPv6 prefix turned
// into plain IPv4, so equal bans compare equal.
func normPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}
