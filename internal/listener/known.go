package listener

import (
	"net/netip"
	"sync"
	"time"
)

// Partners is the set of known partners: addresses that completed an mTLS
// handshake within the age, and the configured prefixes (ignoreip). Known
// partners get reserved handshake slots and never wait behind unknown
// sources for the CPU. The set is bounded: when full, the address seen
// longest ago makes room. It is safe for concurrent use.
type Partners struct {
	mu       sync.Mutex
	age      time.Duration
	max      int
	seen     map[netip.Addr]time.Time
	prefixes []netip.Prefix
}

// Defaults for Partners: a partner that has not completed a handshake for
// 30 days is a stranger again (OFTP2 partners exchange at least monthly;
// an address reassigned since then must not inherit the privilege for
// longer), and at most 10,000 addresses are kept (a few hundred KiB).
const (
	DefaultPartnerAge  = 30 * 24 * time.Hour
	DefaultMaxPartners = 10000
)

// NewPartners returns an empty set; prefixes are always known. Zero age
// or max take the defaults.
func NewPartners(age time.Duration, size int, prefixes []netip.Prefix) *Partners {
	if age <= 0 {
		age = DefaultPartnerAge
	}
	if size <= 0 {
		size = DefaultMaxPartners
	}
	p := &Partners{age: age, max: size, seen: map[netip.Addr]time.Time{}}
	p.SetPrefixes(prefixes)
	return p
}

// SetPrefixes replaces the configured prefixes (ignoreip changed).
func (p *Partners) SetPrefixes(prefixes []netip.Prefix) {
	var ps []netip.Prefix
	for _, pr := range prefixes {
		if pr.Addr().Is4In6() {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), max(pr.Bits()-96, 0))
		}
		ps = append(ps, pr.Masked())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefixes = ps
}

// Known reports whether a is a known partner at now.
func (p *Partners) Known(a netip.Addr, now time.Time) bool {
	a = a.Unmap()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.prefixes {
		if pr.Contains(a) {
			return true
		}
	}
	t, ok := p.seen[a]
	return ok && now.Sub(t) < p.age
}

// Seen records a completed mTLS handshake from a at t.
func (p *Partners) Seen(a netip.Addr, t time.Time) {
	a = a.Unmap()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.seen[a]; !ok && len(p.seen) >= p.max {
		p.dropOldest()
	}
	if t.After(p.seen[a]) {
		p.seen[a] = t
	}
}

// dropOldest forgets the address seen longest ago. It scans the set, but
// runs only when a new partner arrives at a full set.
func (p *Partners) dropOldest() {
	var oldest netip.Addr
	var at time.Time
	for a, t := range p.seen {
		if !oldest.IsValid() || t.Before(at) {
			oldest, at = a, t
		}
	}
	delete(p.seen, oldest)
}

// Snapshot returns the addresses still within the age at now, with the
// time each last completed a handshake, for the store.
func (p *Partners) Snapshot(now time.Time) map[netip.Addr]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[netip.Addr]time.Time, len(p.seen))
	for a, t := range p.seen {
		if now.Sub(t) < p.age {
			out[a] = t
		} else {
			delete(p.seen, a)
		}
	}
	return out
}

// Restore adds addresses from the store (as Seen does, so the bound holds).
func (p *Partners) Restore(seen map[netip.Addr]time.Time) {
	for a, t := range seen {
		p.Seen(a, t)
	}
}
