package xdp

import (
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

func TestTickFromHZ(t *testing.T) {
	for _, c := range []struct {
		measured float64
		want     uint64
	}{
		{4_000_000, 4_000_000}, {4_000_400, 4_000_000}, {3_999_100, 4_000_000},
		{3_333_333, 3_333_333}, {10_000_900, 10_000_000}, {999_990, 1_000_000},
	} {
		if got := tickFromHZ(c.measured); got != c.want {
			t.Errorf("tickFromHZ(%v) = %d, want %d", c.measured, got, c.want)
		}
	}
}

// TestJiffyClockTracksCoarseClock calibrates the clock the program uses,
// then compares it with the kernel's coarse clock for a few dozen ticks:
// they must never be more than one tick apart.
func TestJiffyClockTracksCoarseClock(t *testing.T) {
	testutil.RequireRoot(t)
	spec, err := loadXdpban()
	if err != nil {
		t.Fatal(err)
	}
	clock, err := calibrateClock(spec.Programs[xdpbanProgXdpbanClock])
	if err != nil {
		t.Fatal(err)
	}
	if clock.tickNs < 1_000_000 || clock.tickNs > 10_000_000 {
		t.Fatalf("tick %d ns: not a Linux HZ between 100 and 1000", clock.tickNs)
	}
	prog, err := newClockProgram(spec.Programs[xdpbanProgXdpbanClock])
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	first, err := readClock(prog)
	if err != nil {
		t.Fatal(err)
	}
	for s := first; s.jiffies-first.jiffies < 30; {
		diff := int64(clock.drift(s))
		if diff > int64(clock.tickNs) || -diff > int64(clock.tickNs) {
			t.Fatalf("at jiffies %d the program's clock is %d ns off the coarse clock (tick %d)", s.jiffies, diff, clock.tickNs)
		}
		if s, err = readClock(prog); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClockDrift: a loaded datapath measures its clock within a tick of
// the kernel's, and a clock whose offset is off by more shows it.
func TestClockDrift(t *testing.T) {
	d := loadTest(t, Config{})
	drift, tick, err := d.ClockDrift()
	if err != nil {
		t.Fatal(err)
	}
	if drift.Abs() > tick {
		t.Fatalf("drift %v, more than a tick (%v)", drift, tick)
	}
	off := d.clock
	off.baseNs += 3 * off.tickNs
	s := clockSample{ns: d.clock.at(100), jiffies: 100}
	if got := off.drift(s); got != time.Duration(3*off.tickNs) {
		t.Fatalf("a clock 3 ticks off measures %v", got)
	}
}
