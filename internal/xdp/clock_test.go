package xdp

import (
	"slices"
	"testing"
	"time"
)

// TestNowPairHoldsTogether: every pair nowPair returns puts the wall
// clock at the same offset from CLOCK_MONOTONIC, within far less than a
// tick. Reading the two once each, one in about a thousand pairs came out
// a millisecond or more apart on a loaded machine (the thread preempted
// between the reads), and every ban end converted with such a pair moved
// by as much.
func TestNowPairHoldsTogether(t *testing.T) {
	const pairs = 200000
	offsets := make([]time.Duration, pairs)
	for i := range offsets {
		p := nowPair()
		offsets[i] = time.Duration(p.wall.UnixNano()) - p.mono
	}
	sorted := slices.Clone(offsets)
	slices.Sort(sorted)
	median := sorted[pairs/2]
	worst := max(sorted[pairs-1]-median, median-sorted[0])
	t.Logf("%d pairs: worst %v off the median offset", pairs, worst)
	// The wall clock may be slewed by up to 0.05% while the test runs,
	// a few microseconds; a torn pair is off by the time between its reads.
	if worst > 50*time.Microsecond {
		t.Errorf("a pair %v off the median offset of %d pairs", worst, pairs)
	}
}
