package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cilium/ebpf"
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

// calibrationTicks is how many jiffies the calibration waits for: the
// tick length is measured over this many (8 ms at HZ=250, 20 at HZ=100).
const calibrationTicks = 2

// calibrateClock measures the jiffy clock with the xdpban_clock program.
// The kernel advances jiffies by one every TICK_NSEC of CLOCK_MONOTONIC,
// in the same tick that updates the coarse clock, so the pair moves in
// lockstep; only the tick length (from CONFIG_HZ, not exposed to
// userspace everywhere) and the offset between them need measuring.
func calibrateClock(spec *ebpf.ProgramSpec) (jiffyClock, error) {
	prog, err := newClockProgram(spec)
	if err != nil {
		return jiffyClock{}, err
	}
	defer prog.Close()
	first, err := readClock(prog)
	if err != nil {
		return jiffyClock{}, err
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		time.Sleep(time.Millisecond)
		last, err := readClock(prog)
		if err != nil {
			return jiffyClock{}, err
		}
		if ticks := last.jiffies - first.jiffies; ticks >= calibrationTicks {
			tick := tickFromHZ(float64(last.ns-first.ns) / float64(ticks))
			return jiffyClock{tickNs: tick, baseNs: last.ns - last.jiffies*tick}, nil
		}
		if time.Now().After(deadline) {
			return jiffyClock{}, errors.New("calibrate the ban clock: jiffies did not advance in 2 s")
		}
	}
}

func newClockProgram(spec *ebpf.ProgramSpec) (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, loadError(err)
	}
	return prog, nil
}

// tickFromHZ rounds a measured tick length to the kernel's TICK_NSEC for
// the nearest whole HZ: (NSEC_PER_SEC + HZ/2) / HZ.
func tickFromHZ(measuredNs float64) uint64 {
	hz := uint64(math.Max(1, math.Round(1e9/measuredNs)))
	return (1e9 + hz/2) / hz
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
	s, err := readClock(prog)
	if err != nil {
		return 0, 0, err
	}
	return d.clock.drift(s), time.Duration(d.clock.tickNs), nil
}

// drift is how far the clock is from the coarse clock at sample s.
func (c jiffyClock) drift(s clockSample) time.Duration {
	return time.Duration(int64(c.at(s.jiffies) - s.ns))
}
