package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// xdpMD mirrors struct xdp_md, the context of an XDP test run.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// runGenerator sends frame out of the attacker's veth with tx, an XDP_TX
// program run under BPF_F_TEST_XDP_LIVE_FRAMES, from a thread pinned to
// floodCPU inside the attacker namespace. Each BPF_PROG_RUN costs an RCU
// synchronisation, so runs are large: next gets the size and duration of
// the last run and returns the size of the next, 0 to stop. It returns
// the frames sent.
func runGenerator(ctx context.Context, tx *ebpf.Program, p *pair, frame []byte, next func(n uint32, took time.Duration) uint32) (uint64, error) {
	return runGeneratorOn(ctx, floodCPU, tx, p, frame, next)
}

// runGeneratorOn is runGenerator from a thread pinned to cpu. veth puts
// what a CPU sends on the receive queue numbered after that CPU and runs
// that queue's NAPI there, so with several queues each generating CPU is
// a receiving CPU too.
func runGeneratorOn(ctx context.Context, cpu int, tx *ebpf.Program, p *pair, frame []byte, next func(n uint32, took time.Duration) uint32) (uint64, error) {
	sent, _, err := runGeneratorOnCPU(ctx, cpu, tx, p, frame, next)
	return sent, err
}

// runGeneratorOnCPU is runGeneratorOn that also returns the CPU time the
// flood took on cpu: its thread's (the receiver's NAPI runs there, as the
// kernel processes softirqs on the way out of each run) and that CPU's
// ksoftirqd's (which runs them when they pile up). Other jobs on the CPU
// do not count, so per handled packet it measures the flood's cost even
// when the CPU is shared, which the handled rate does not.
func runGeneratorOnCPU(ctx context.Context, cpu int, tx *ebpf.Program, p *pair, frame []byte, next func(n uint32, took time.Duration) uint32) (uint64, time.Duration, error) {
	var (
		sent uint64
		own  time.Duration
	)
	err := inNS(p.A, func() error {
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin generator to CPU %d: %w", cpu, err)
		}
		ksoftirqd := ksoftirqdStat(cpu)
		t0, k0 := schedTime("/proc/thread-self/schedstat"), schedTime(ksoftirqd)
		defer func() {
			own = schedTime("/proc/thread-self/schedstat") - t0 + schedTime(ksoftirqd) - k0
		}()
		for n := uint32(4096); n > 0 && ctx.Err() == nil; {
			t := time.Now()
			if _, err := tx.Run(&ebpf.RunOptions{
				Data:      frame,
				Context:   xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(p.AIdx)},
				Repeat:    n,
				Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
				BatchSize: 64,
			}); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			sent += uint64(n)
			n = next(n, time.Since(t))
		}
		return nil
	})
	return sent, own, err
}

// schedTime reads the time on CPU from a schedstat file (0 when it cannot).
func schedTime(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var ns int64
	fmt.Sscan(string(b), &ns)
	return time.Duration(ns)
}

// ksoftirqdStat is the schedstat file of cpu's ksoftirqd thread.
func ksoftirqdStat(cpu int) string {
	want := fmt.Sprintf("ksoftirqd/%d\n", cpu)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && string(b) == want {
			return "/proc/" + e.Name() + "/schedstat"
		}
	}
	return ""
}

// runSize is the size of a run that takes about want at the rate the last
// run of n frames reached in took.
func runSize(n uint32, took time.Duration, want time.Duration) uint32 {
	rate := float64(n) / took.Seconds()
	return uint32(min(max(rate*want.Seconds(), 1024), 1<<24))
}

// Offsets in the flood frame (Ethernet, IPv4 without options, TCP).
const (
	offIPID    = 14 + 4
	offSrcLow  = 14 + 12 + 2
	offSrcPort = 14 + 20
	floodIDMax = 60000
	floodSport = 60000
)

// floodFrame is a SYN from floodSource(0) with IP ID floodIDMax and source
// port floodSport. The generator adds i to the low half of the source
// address and subtracts i from the IP ID and the source port: the sums the
// IP and TCP checksums cover stay the same, so the frame stays valid.
func floodFrame(p *pair) []byte {
	b := synFrame(p.AMAC, p.SMAC, floodSource(0), labServer, floodSport, labPort)
	binary.BigEndian.PutUint16(b[offIPID:], floodIDMax)
	binary.BigEndian.PutUint16(b[24:], 0)
	binary.BigEndian.PutUint16(b[24:], checksum(b[14:34], 0))
	return b
}

// floodTXProgram returns an XDP program that rewrites each frame to come
// from one of n sources picked at random (see floodFrame) and sends it
// out (XDP_TX). It writes absolute values, so a recycled page that still
// holds an earlier frame's fields is rewritten correctly.
func floodTXProgram(n int) (*ebpf.Program, error) {
	low := int32(binary.BigEndian.Uint16(floodSource(0).AsSlice()[2:]))
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R7, asm.R1),
		asm.FnGetPrandomU32.Call(),
		asm.Mov.Reg(asm.R6, asm.R0),
		asm.Mod.Imm(asm.R6, int32(n)),            // i
		asm.LoadMem(asm.R2, asm.R7, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R7, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 54),
		asm.JGT.Reg(asm.R4, asm.R3, "out"), // the verifier needs the bound
		// source address, low half: low + i
		asm.Mov.Reg(asm.R5, asm.R6),
		asm.Add.Imm(asm.R5, low),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offSrcLow, asm.R5, asm.Half),
		// IP ID: floodIDMax - i
		asm.Mov.Imm(asm.R5, floodIDMax),
		asm.Sub.Reg(asm.R5, asm.R6),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offIPID, asm.R5, asm.Half),
		// TCP source port: floodSport - i
		asm.Mov.Imm(asm.R5, floodSport),
		asm.Sub.Reg(asm.R5, asm.R6),
		asm.HostTo(asm.BE, asm.R5, asm.Half),
		asm.StoreMem(asm.R2, offSrcPort, asm.R5, asm.Half),
		asm.Mov.Imm(asm.R0, xdpTX).WithSymbol("out"),
		asm.Return(),
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bench_flood_tx", Type: ebpf.XDP, Instructions: ins, License: "Dual BSD/GPL"})
	if err != nil {
		return nil, fmt.Errorf("load flood generator: %w", err)
	}
	return p, nil
}
