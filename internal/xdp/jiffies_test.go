package xdp

import (
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestFitClockSkipsTornSamples: a sample read between the tick's update
// of jiffies and of the coarse clock, in either order, must not set the
// offset, or every ban would end a tick early or late.
func TestFitClockSkipsTornSamples(t *testing.T) {
	const tick, base = 4_000_000, 1_000_000_123
	good := func(j uint64) clockSample { return clockSample{ns: base + j*tick + 15, jiffies: j} }
	late := clockSample{ns: base + 100*tick, jiffies: 101}  // jiffies moved first
	early := clockSample{ns: base + 102*tick, jiffies: 101} // the coarse clock moved first
	for _, samples := range [][]clockSample{
		{late, good(101), good(102)}, {good(100), late, good(102)}, {good(100), good(101), late},
		{early, good(101), good(102)}, {good(100), early, good(101)}, {good(100), good(101), early},
		{early, good(100), late, good(101), good(102)},
	} {
		c := fitClock(tick, samples)
		if c.tickNs != tick || int64(c.baseNs-base) < 0 || c.baseNs-base > 15 {
			t.Errorf("fitClock(%v) = %+v, want tick %d base %d", samples, c, tick, base)
		}
	}
	if c := fitClock(tick, []clockSample{early, late}); c.at(101) != base+100*tick {
		t.Errorf("a tie between torn samples: clock at jiffy 101 reads %d, want the later end (%d)", c.at(101), base+100*tick)
	}
}

// TestCoarseTickIsAHZ: the tick the program counts by is a whole HZ's.
func TestCoarseTickIsAHZ(t *testing.T) {
	tick, err := coarseTick()
	if err != nil {
		t.Fatal(err)
	}
	hz := (1_000_000_000 + tick/2) / tick
	if want := (1_000_000_000 + hz/2) / hz; tick != want {
		t.Fatalf("tick %d ns is not TICK_NSEC of HZ %d (%d)", tick, hz, want)
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
		// A torn sample (see fitClock) reads a tick off; a wrong tick
		// would drift further with every jiffy.
		diff := int64(clock.drift(s))
		if bound := int64(clock.tickNs * 3 / 2); diff > bound || -diff > bound {
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
	d.clock.baseNs += 3 * d.clock.tickNs
	if drift, _, err = d.ClockDrift(); err != nil {
		t.Fatal(err)
	}
	if want := 3 * tick; (drift - want).Abs() > tick/2 {
		t.Fatalf("a clock 3 ticks off measures %v, want about %v", drift, want)
	}
}

// drift is how far the clock is from the coarse clock at sample s.
func (c jiffyClock) drift(s clockSample) time.Duration {
	return time.Duration(int64(c.at(s.jiffies) - s.ns))
}
