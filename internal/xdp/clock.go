package xdp

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// The ban clock, its reasoning in one place. The map holds ban ends on
// CLOCK_MONOTONIC, which the program keeps by the tick: jiffies x tick +
// base, from bpf_jiffies64() (one load once the verifier inlines it) and
// two constants that jiffies.go measures at load and the daemon's sweep
// re-measures (Datapath.ClockDrift).
//
// Why not a clock helper: on KVM guests bpf_ktime_get_boot_ns() costs more
// than the rest of a banned packet's path, and even the coarse helper is a
// call on every hit (the README has the figures). Why not
// CLOCK_BOOTTIME, which counts time suspended: with the tick, time
// suspended does not count, so a suspended server's bans last longer than
// asked, never shorter. What the tick gives up: a ban ends up to one tick
// late.
//
// Userspace reads CLOCK_MONOTONIC at full resolution, so the ends it
// writes are exact and the kernel honours them within a tick.

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

// nowPair reads the wall clock between two reads of CLOCK_MONOTONIC and
// pairs it with their middle. The thread can be preempted between any
// two reads (monoNow is a system call), and a loaded machine did so for
// milliseconds: a pair read that far apart moves every end converted
// with it by as much, a ban written late or read back early. The
// tightest of a few tries is kept.
func nowPair() clockPair {
	var best clockPair
	bestSpan := time.Duration(math.MaxInt64)
	for range pairTries {
		before := monoNow()
		wall := time.Now()
		span := monoNow() - before
		if span < bestSpan {
			best, bestSpan = clockPair{wall: wall, mono: before + span/2}, span
		}
		if span <= pairSpan {
			break
		}
	}
	return best
}

// pairSpan is how far apart nowPair's two monotonic reads may be for the
// pair to be taken at once; pairTries bounds its tries.
const (
	pairSpan  = 20 * time.Microsecond
	pairTries = 8
)

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
