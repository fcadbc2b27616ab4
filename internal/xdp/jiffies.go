package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// jiffyClock holds the two constants with which the program turns jiffies
// into CLOCK_MONOTONIC_COARSE nanoseconds: now = jiffies*tickNs + baseNs
// (modulo 2^64, as the program computes it).
type jiffyClock struct {
	tickNs, baseNs uint64
}

func (c jiffyClock) at(jiffies uint64) uint64 { return jiffies*c.tickNs + c.baseNs }

// clockSample is one reading of xdpban_clock: the coarse clock and
// jiffies, taken with no tick between them.
type clockSample struct {
	ns, jiffies uint64
}

// xdpPassVerdict is XDP_PASS, what xdpban_clock returns.
const xdpPassVerdict = 2

// calibrationTicks is how many jiffies the calibration samples across, so
// that some sample falls well inside a tick.
const calibrationTicks = 2

// calibrateClock measures the jiffy clock with the xdpban_clock program.
// The kernel advances jiffies by one every TICK_NSEC of CLOCK_MONOTONIC,
// in the same tick that updates the coarse clock, so the pair moves in
// lockstep: the tick length is the coarse clock's resolution, and only
// the offset between them needs measuring.
func calibrateClock(spec *ebpf.ProgramSpec) (jiffyClock, error) {
	tick, err := coarseTick()
	if err != nil {
		return jiffyClock{}, err
	}
	prog, err := newClockProgram(spec)
	if err != nil {
		return jiffyClock{}, err
	}
	defer prog.Close()
	first, err := readClock(prog)
	if err != nil {
		return jiffyClock{}, err
	}
	samples := []clockSample{first}
	deadline := time.Now().Add(2 * time.Second)
	for samples[len(samples)-1].jiffies-first.jiffies < calibrationTicks {
		if time.Now().After(deadline) {
			return jiffyClock{}, errors.New("calibrate the ban clock: jiffies did not advance in 2 s")
		}
		time.Sleep(250 * time.Microsecond)
		s, err := readClock(prog)
		if err != nil {
			return jiffyClock{}, err
		}
		samples = append(samples, s)
	}
	return fitClock(tick, samples), nil
}

// coarseTick is the kernel's TICK_NSEC, which clock_getres reports as the
// resolution of the coarse clocks: they advance once per tick. Measuring
// it instead, over jiffies read together with the coarse clock, can be a
// tick off on either end, and a wrong tick makes the program's clock run
// fast or slow, ending every ban early or late by a growing margin.
func coarseTick() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGetres(unix.CLOCK_MONOTONIC_COARSE, &ts); err != nil {
		return 0, fmt.Errorf("read the kernel tick: %w", err)
	}
	tick := ts.Nano()
	if tick < 100_000 || tick > 100_000_000 {
		return 0, fmt.Errorf("read the kernel tick: CLOCK_MONOTONIC_COARSE has a resolution of %d ns, not a tick between 100 Hz and 10 kHz", tick)
	}
	return uint64(tick), nil
}

// fitClock takes the offset most samples agree on (coarse time minus
// jiffies x tick), the lower one on a tie. A sample can be torn: the
// kernel moves jiffies and the coarse clock one after the other, and a
// read between the two gives an offset a tick off, which under load
// happens in both directions. Agreement is within half a tick, since
// the coarse clock is taken at the tick, not exactly on its boundary.
func fitClock(tick uint64, samples []clockSample) jiffyClock {
	c := jiffyClock{tickNs: tick}
	best := 0
	for i, s := range samples {
		base := s.ns - s.jiffies*tick
		votes := 0
		for _, o := range samples {
			if d := int64(o.ns - o.jiffies*tick - base); d < int64(tick/2) && -d < int64(tick/2) {
				votes++
			}
		}
		if i == 0 || votes > best || votes == best && int64(base-c.baseNs) < 0 {
			c.baseNs, best = base, votes
		}
	}
	return c
}

func newClockProgram(spec *ebpf.ProgramSpec) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, loadError(err)
	}
	return prog, nil
}

// readClock runs xdpban_clock until a run had no tick between its two
// reads of the coarse clock: then the jiffies it read belong to that
// coarse time, or at worst to the tick after it, which makes the derived
// clock run one tick behind (bans end one tick late, never early).
func readClock(prog *ebpf.Program) (clockSample, error) {
	in := make([]byte, 64)
	out := make([]byte, len(in))
	for range 16 {
		ret, err := prog.Run(&ebpf.RunOptions{Data: in, DataOut: out})
		if err != nil {
			return clockSample{}, fmt.Errorf("read the kernel clock: %w", err)
		}
		if ret != xdpPassVerdict {
			return clockSample{}, fmt.Errorf("read the kernel clock: program returned %d", ret)
		}
		c1, j, c2 := binary.LittleEndian.Uint64(out), binary.LittleEndian.Uint64(out[8:]), binary.LittleEndian.Uint64(out[16:])
		if c1 == c2 {
			return clockSample{ns: c1, jiffies: j}, nil
		}
	}
	return clockSample{}, errors.New("read the kernel clock: every read straddled a tick")
}

// ClockDrift measures how far the program's clock, fixed at load as
// jiffies x tick + base, is from CLOCK_MONOTONIC now (as the kernel's
// coarse clock reads it, at tick resolution), and returns it with
// the tick. The kernel advances both together, so the drift stays within
// a tick; more means the constants no longer hold (a kernel that
// changed how it keeps jiffies), and bans would end early or late by it.
func (d *Datapath) ClockDrift() (drift, tick time.Duration, err error) {
	prog, err := newClockProgram(d.clockSpec)
	if err != nil {
		return 0, 0, err
	}
	defer prog.Close()
	// Several samples, fitted as at load, so that one torn sample does
	// not read as a tick of drift.
	samples := make([]clockSample, 0, driftSamples)
	for range driftSamples {
		s, err := readClock(prog)
		if err != nil {
			return 0, 0, err
		}
		samples = append(samples, s)
		time.Sleep(250 * time.Microsecond)
	}
	now := fitClock(d.clock.tickNs, samples)
	return time.Duration(int64(d.clock.baseNs - now.baseNs)), time.Duration(d.clock.tickNs), nil
}

// driftSamples is how many samples ClockDrift fits.
const driftSamples = 5
