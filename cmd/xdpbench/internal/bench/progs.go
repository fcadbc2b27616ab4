package bench

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

const (
	xdpDrop = 1
	xdpPass = 2
	xdpTX   = 3
)

// constProg loads a program of typ that only returns verdict: XDP_PASS
// is the floor of the per-packet figures and the stub that makes a veth
// receive natively; XDP_TX is the in-kernel packet generator; TCX_DROP
// keeps a flood's replies off the wire.
func constProg(name string, typ ebpf.ProgramType, verdict int32) (*ebpf.Program, error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: name,
		Type: typ,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, verdict),
			asm.Return(),
		},
		License: "Dual BSD/GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("load %s program: %w", name, err)
	}
	return p, nil
}

// passProgram returns a bare XDP_PASS program.
func passProgram() (*ebpf.Program, error) { return constProg("bench_pass", ebpf.XDP, xdpPass) }

// dropProgram returns a bare XDP_DROP program, the limit of the flood.
func dropProgram() (*ebpf.Program, error) { return constProg("bench_drop", ebpf.XDP, xdpDrop) }

// txProgram returns a program that sends every frame back out (XDP_TX).
func txProgram() (*ebpf.Program, error) { return constProg("bench_tx", ebpf.XDP, xdpTX) }

// tcDropProgram drops every packet (TCX_DROP) where it is attached at tc.
func tcDropProgram() (*ebpf.Program, error) { return constProg("bench_tc_drop", ebpf.SchedCLS, 2) }

// naiveProgram is the baseline the per-packet targets are set against: a
// hash-lookup program as one would first write it. It checks for IPv4,
// looks the source up as xdpban's 16-byte key in the same map, and drops
// it unless the ban has expired by the coarse clock. No VLAN, IPv6, port
// or counters: less work than xdpban does, and the one lookup per packet
// xdpban's filter avoids.
func naiveProgram(bans *ebpf.Map) (*ebpf.Program, error) {
	const pass, drop = "pass", "drop"
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R6, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 34), // Ethernet + IPv4 header
		asm.JGT.Reg(asm.R4, asm.R3, pass),
		asm.LoadMem(asm.R5, asm.R2, 12, asm.Half),
		asm.JNE.Imm(asm.R5, 0x0008, pass), // EtherType 0x0800, read little-endian
		// key ::ffff:saddr at r10-16
		asm.StoreImm(asm.R10, -16, 0, asm.Word),
		asm.StoreImm(asm.R10, -12, 0, asm.Word),
		asm.StoreImm(asm.R10, -8, -65536, asm.Word), // bytes 00 00 ff ff
		asm.LoadMem(asm.R5, asm.R2, 26, asm.Word),
		asm.StoreMem(asm.R10, -4, asm.R5, asm.Word),
		asm.LoadMapPtr(asm.R1, bans.FD()),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -16),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, pass),
		asm.LoadMem(asm.R7, asm.R0, 0, asm.DWord), // expires_ns
		asm.JEq.Imm(asm.R7, 0, drop),
		asm.FnKtimeGetCoarseNs.Call(),
		asm.JGE.Reg(asm.R0, asm.R7, pass),
		asm.Mov.Imm(asm.R0, xdpDrop).WithSymbol(drop),
		asm.Return(),
		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol(pass),
		asm.Return(),
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bench_naive", Type: ebpf.XDP, Instructions: insns, License: "Dual BSD/GPL"})
	if err != nil {
		return nil, fmt.Errorf("load naive lookup program: %w", err)
	}
	return p, nil
}
