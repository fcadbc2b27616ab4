package xdp

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// The map holds ban ends on the kernel's monotonic clock, which the
// program reads at tick resolution (CLOCK_MONOTONIC_COARSE).
//
// Why not CLOCK_BOOTTIME (bpf_ktime_get_boot_ns), which also counts time
// spent suspended: on this project's machines (KVM guests, kvm-clock) that
// helper costs about 25 ns per call, more than the rest of a banned
// packet's path together (hit 45 ns vs 20 ns; make bench and the commit
// that chose this). What the coarse clock gives up: a ban ends up to one
// tick (1-10 ms) late, and time spent in suspend does not count, so a
// suspended server's bans last longer than asked, never shorter.
//
// Why not even bpf_ktime_get_coarse_ns(): it is still a helper call, 2-3
// ns of a 17 ns hit. The program derives the same clock from jiffies,
// which the verifier inlines into one load; jiffies.go measures the two
// constants that convert them when the program is loaded.
//
// Userspace reads CLOCK_MONOTONIC, the same clock at full resolution, so
// the ends it writes are exact and the kernel honours them within a tick.

// monoNow reads CLOCK_MONOTONIC, the clock the program keeps by the tick.
func monoNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// CLOCK_MONOTONIC cannot fail on Linux.
		panic("clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return time.Duration(ts.Nano())
}

// clockPair samples wall and monotonic time together, so conversions
// between them are consistent within one operation.
type clockPair struct {
	wall time.Time
	mono time.Duration
}

func nowPair() clockPair {
	return clockPair{wall: time.Now(), mono: monoNow()}
}

// toMono converts a wall-clock deadline to map expiry nanoseconds. A zero
// deadline means permanent (0 in the map). Deadlines before the clock's
// start map to 1, which the program treats as already expired; deadlines
// too far to count in nanoseconds saturate rather than wrap into the past.
func (c clockPair) toMono(until time.Time) uint64 {
	if until.IsZero() {
		return 0
	}
	left := until.Sub(c.wall) // saturates itself
	if left > math.MaxInt64-c.mono {
		return math.MaxInt64
	}
	ns := c.mono + left
	if ns <= 0 {
		return 1
	}
	return uint64(ns)
}

// toWall converts map expiry nanoseconds back to wall time; 0 stays zero.
func (c clockPair) toWall(monoNs uint64) time.Time {
	if monoNs == 0 {
		return time.Time{}
	}
	return c.wall.Add(time.Duration(monoNs) - c.mono)
}
