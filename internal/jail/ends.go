package jail

import (
	"container/heap"
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

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(endEntry)) }
func (h *endHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// track remembers when b ends (permanent bans never do).
func (s *activeBans) track(b Ban) {
	if b.End.IsZero() {
		return
	}
	heap.Push(&s.ends, endEntry{end: b.End.UnixNano(), p: b.Prefix})
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
	heap.Init(&s.ends)
}

// popEnded removes and returns the bans that are no longer in force at now.
func (s *activeBans) popEnded(now time.Time) []Ban {
	var out []Ban
	for len(s.ends) > 0 && s.ends[0].end <= now.UnixNano() {
		e := heap.Pop(&s.ends).(endEntry)
		b, ok := s.byPrefix[e.p]
		if !ok || b.End.IsZero() || b.End.UnixNano() != e.end || b.activeAt(now) {
			continue // lifted, replaced, or made permanent since
		}
		s.remove(e.p)
		out = append(out, b)
	}
	return out
}
