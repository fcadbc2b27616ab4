package xdp

import (
	"time"

	"golang.org/x/sys/unix"
)

// The map holds ban ends on the kernel's monotonic clock, read in the
// program with bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE).
//
// Why not CLOCK_BOOTTIME (bpf_ktime_get_boot_ns), which also counts time
// spent suspended: on this project's machines (KVM guests, kvm-clock) that
// helper costs about 25 ns per call, more than the rest of a banned
// packet's path together (hit 45 ns vs 20 ns; make bench and the commit
// that chose this). The coarse clock reads a value the timer tick keeps,
// for about nothing. What it gives up: a ban ends up to one tick (1-4 ms)
// late, and time spent in suspend does not count, so a suspended server's
// bans last longer than asked, never shorter.
//
// Userspace reads CLOCK_MONOTONIC, the same clock at full resolution, so
// the ends it writes are exact and the kernel honours them within a tick.

// monoNow reads CLOCK_MONOTONIC, the clock behind bpf_ktime_get_coarse_ns.
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
// start map to 1, which the program treats as already expired.
func (c clockPair) toMono(until time.Time) uint64 {
	if until.IsZero() {
		return 0
	}
	ns := c.mono + until.Sub(c.wall)
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
