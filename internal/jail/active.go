package jail

import (
	"net/netip"
	"slices"
	"time"
)

// activeBans holds the bans in force, with the prefix lengths in use per
// family, so finding the ban covering an address costs one map lookup per
// length in use (usually one).
type activeBans struct {
	byPrefix map[netip.Prefix]Ban
	lenCount [2][129]int // [0] IPv4, [1] IPv6
	lens     [2][]int    // lengths with a non-zero count, longest first
	ends     endHeap     // ends of timed bans, for Expire
}

func newActiveBans() activeBans {
	return activeBans{byPrefix: make(map[netip.Prefix]Ban)}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// add stores b, replacing any ban of the same prefix, and reports
// whether it replaced one.
func (s *activeBans) add(b Ban) (replaced bool) {
	n := len(s.byPrefix)
	s.byPrefix[b.Prefix] = b
	s.track(b)
	if len(s.byPrefix) == n {
		return true
	}
	f, bits := family(b.Prefix.Addr()), b.Prefix.Bits()
	s.lenCount[f][bits]++
	if s.lenCount[f][bits] == 1 {
		s.lens[f] = append(s.lens[f], bits)
		slices.SortFunc(s.lens[f], func(x, y int) int { return y - x })
	}
	return false
}

// remove deletes the ban of p and returns it.
func (s *activeBans) remove(p netip.Prefix) (Ban, bool) {
	b, ok := s.byPrefix[p]
	if !ok {
		return Ban{}, false
	}
	delete(s.byPrefix, p)
	f, bits := family(p.Addr()), p.Bits()
	s.lenCount[f][bits]--
	if s.lenCount[f][bits] == 0 {
		s.lens[f] = slices.DeleteFunc(s.lens[f], func(x int) bool { return x == bits })
	}
	return b, true
}

// covering returns the ban in force at now that covers a, if any, longest
// prefix first.
func (s *activeBans) covering(a netip.Addr, now time.Time) (Ban, bool) {
	for _, bits := range s.lens[family(a)] {
		p, _ := a.Prefix(bits)
		if b, ok := s.byPrefix[p]; ok && b.ActiveAt(now) {
			return b, true
		}
	}
	return Ban{}, false
}

// reserve makes room for n more bans when there are none yet, so a bulk
// restore does not rehash a growing map over and over.
func (s *activeBans) reserve(n int) {
	if len(s.byPrefix) == 0 {
		s.byPrefix = make(map[netip.Prefix]Ban, n)
		s.ends = make(endHeap, 0, n)
	}
}

func (s *activeBans) len() int { return len(s.byPrefix) }

// get returns the ban of p.
func (s *activeBans) get(p netip.Prefix) (Ban, bool) {
	b, ok := s.byPrefix[p]
	return b, ok
}

// each calls fn for every ban.
func (s *activeBans) each(fn func(Ban)) {
	for _, b := range s.byPrefix {
		fn(b)
	}
}
