package jail

import (
	"net/netip"
	"sync"
	"time"
)

// HistoryLimit bounds the ban times a History needs to keep per prefix:
// past 21 the default formula no longer grows, so older entries only feed
// Ban.Count. MemHistory and the state store both keep this many.
const HistoryLimit = 64

// MemHistory is a History in memory, for log-only use without a state
// store and for tests. It forgets everything on restart.
type MemHistory struct {
	mu   sync.Mutex
	bans map[netip.Prefix][]time.Time
}

// NewMemHistory returns an empty MemHistory.
func NewMemHistory() *MemHistory {
	return &MemHistory{bans: make(map[netip.Prefix][]time.Time)}
}

// BanCount returns how many bans of p started at or after since.
func (h *MemHistory) BanCount(p netip.Prefix, since time.Time) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, t := range h.bans[p] {
		if !t.Before(since) {
			n++
		}
	}
	return n, nil
}

// RecordBan remembers that b started.
func (h *MemHistory) RecordBan(b Ban) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ts := append(h.bans[b.Prefix], b.Start)
	if len(ts) > HistoryLimit {
		ts = append(ts[:0], ts[len(ts)-HistoryLimit:]...)
	}
	h.bans[b.Prefix] = ts
	return nil
}

// KeepBans does nothing: MemHistory keeps only the counts.
func (h *MemHistory) KeepBans([]Ban) error { return nil }

// ForgetBan does nothing: MemHistory keeps only the counts.
func (h *MemHistory) ForgetBan(Ban) error { return nil }
