package xdp

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Counters are the program's per-CPU counters summed over all CPUs.
type Counters struct {
	Seen       uint64 `json:"seen"`
	Passed     uint64 `json:"passed"`
	Dropped    uint64 `json:"dropped"`
	Expired    uint64 `json:"expired_hits"`
	ParseFails uint64 `json:"parse_failures"`
}

// The counters' indexes, enum stat_index of bpf/xdpban.h.
const (
	statPassed    = xdpbanStatIndexSTAT_PASSED
	statDropped   = xdpbanStatIndexSTAT_DROPPED
	statExpired   = xdpbanStatIndexSTAT_EXPIRED
	statParseFail = xdpbanStatIndexSTAT_PARSE_FAIL
)

// statsSlots is XDPBAN_STATS_SLOTS: counters are kept per receiving
// ifindex below it, in slot 0 above it.
const statsSlots = int(xdpbanXdpbanConstXDPBAN_STATS_SLOTS)

func (c *Counters) add(s *xdpbanStats) {
	c.Seen += s.Count[statPassed] + s.Count[statDropped] // see enum stat_index
	c.Passed += s.Count[statPassed]
	c.Dropped += s.Count[statDropped]
	c.Expired += s.Count[statExpired]
	c.ParseFails += s.Count[statParseFail]
}

// Counters sums the counters of every interface and CPU, in one batched
// read of the whole per-CPU array (a metrics scrape must stay cheap).
func (m *Maps) Counters() (Counters, error) {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return Counters{}, fmt.Errorf("read counters: %w", err)
	}
	keys := make([]uint32, statsSlots)
	vals := make([]xdpbanStats, statsSlots*cpus)
	var cursor ebpf.MapBatchCursor
	n, err := m.stats.BatchLookup(&cursor, keys, vals, nil)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return Counters{}, fmt.Errorf("read counters: %w", err)
	}
	var c Counters
	for i := range vals[:n*cpus] {
		c.add(&vals[i])
	}
	return c, nil
}

// InterfaceCounters sums the counters of one interface over all CPUs.
// Interfaces with an ifindex of statsSlots or more share slot 0.
func (m *Maps) InterfaceCounters(ifindex int) (Counters, error) {
	slot := uint32(0)
	if ifindex > 0 && ifindex < statsSlots {
		slot = uint32(ifindex)
	}
	var perCPU []xdpbanStats
	if err := m.stats.Lookup(slot, &perCPU); err != nil {
		return Counters{}, fmt.Errorf("read counters of ifindex %d: %w", ifindex, err)
	}
	var c Counters
	for i := range perCPU {
		c.add(&perCPU[i])
	}
	return c, nil
}
