package xdp

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootNow reads CLOCK_BOOTTIME, the clock of bpf_ktime_get_boot_ns(). It
// keeps counting across suspend, as the kernel side does.
func bootNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		// CLOCK_BOOTTIME exists on every kernel with BPF links.
		panic("clock_gettime(CLOCK_BOOTTIME): " + err.Error())
	}
	return time.Duration(ts.Nano())
}

// clockPair samples wall and boot time together, so conversions between
// them are consistent within one operation.
type clockPair struct {
	wall time.Time
	boot time.Duration
}

func nowPair() clockPair {
	return clockPair{wall: time.Now(), boot: bootNow()}
}

// toBoot converts a wall-clock deadline to map expiry nanoseconds. A zero
// deadline means permanent (0 in the map). Deadlines in the past map to
// one nanosecond after boot, which the program treats as already expired.
func (c clockPair) toBoot(until time.Time) uint64 {
	if until.IsZero() {
		return 0
	}
	ns := c.boot + until.Sub(c.wall)
	if ns <= 0 {
		return 1
	}
	return uint64(ns)
}

// toWall converts map expiry nanoseconds back to wall time; 0 stays zero.
func (c clockPair) toWall(bootNs uint64) time.Time {
	if bootNs == 0 {
		return time.Time{}
	}
	return c.wall.Add(time.Duration(bootNs) - c.boot)
}
