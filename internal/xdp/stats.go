package xdp

import "fmt"

// Counters are the program's per-CPU counters summed over all CPUs.
// The indexes mirror enum stat_index in bpf/xdpban.h.
type Counters struct {
	Seen       uint64 `json:"seen"`
	Passed     uint64 `json:"passed"`
	Dropped    uint64 `json:"dropped"`
	Expired    uint64 `json:"expired_hits"`
	ParseFails uint64 `json:"parse_failures"`
}

const (
	statSeen = iota
	statPassed
	statDropped
	statExpired
	statParseFail
)

// Counters reads and sums the per-CPU counters.
func (m *Maps) Counters() (Counters, error) {
	var perCPU []xdpbanStats
	if err := m.stats.Lookup(uint32(0), &perCPU); err != nil {
		return Counters{}, fmt.Errorf("read counters: %w", err)
	}
	var c Counters
	for _, s := range perCPU {
		c.Seen += s.Count[statSeen]
		c.Passed += s.Count[statPassed]
		c.Dropped += s.Count[statDropped]
		c.Expired += s.Count[statExpired]
		c.ParseFails += s.Count[statParseFail]
	}
	return c, nil
}
