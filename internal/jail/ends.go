package jail

import (
	"net/netip"
	"time"
)

// endHeap orders the ends of timed bans, soonest first, so Expire finds
// what has ended without walking every ban: with a million bans a walk
// each second would hold the jail's lock for tens of milliseconds, and
// every failure (and so every new ban) would wait for it.
//
// Entries are not removed when a ban is replaced or lifted early; they are
// skipped when popped (the ban's end no longer matches), and the heap is
// rebuilt when such stale entries outnumber the live ones.
type endHeap []endEntry

type endEntry struct {
	end int64 // UnixNano
	p   netip.Prefix
}

// push adds e. Written out rather than container/heap, whose interface
// boxes every entry: a million-ban restore spent half a second on that.
func (h *endHeap) push(e endEntry) {
	*h = append(*h, e)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent].end <= s[i].end {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// pop removes and returns the soonest end.
func (h *endHeap) pop() endEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h endHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h[r].end < h[l].end {
			c = r
		}
		if h[i].end <= h[c].end {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// init orders entries appended without push.
func (h endHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// track remembers when b ends (permanent bans never do). A push sifts
// up a level or two on average, so a restore pushes too: ordering a
// million ends at once instead is faster by some 5 ms, of a restore
// that takes most of a second.
func (s *activeBans) track(b Ban) {
	if b.End.IsZero() {
		return
	}
	s.ends.push(endEntry{end: b.End.UnixNano(), p: b.Prefix})
	if len(s.ends) > 2*len(s.byPrefix)+1024 {
		s.rebuildEnds()
	}
}

func (s *activeBans) rebuildEnds() {
	s.ends = s.ends[:0]
	for p, b := range s.byPrefix {
		if !b.End.IsZero() {
			s.ends = append(s.ends, endEntry{end: b.End.UnixNano(), p: p})
		}
	}
	s.ends.init()
}

// popEnded removes and returns the bans that are no longer in force at now.
func (s *activeBans) popEnded(now time.Time) []Ban {
	var out []Ban
	for len(s.ends) > 0 && s.ends[0].end <= now.UnixNano() {
		e := s.ends.pop()
		b, ok := s.byPrefix[e.p]
		if !ok || b.End.IsZero() || b.End.UnixNano() != e.end || b.ActiveAt(now) {
			continue // lifted, replaced, or made permanent since
		}
		s.remove(e.p)
		out = append(out, b)
	}
	return out
}
