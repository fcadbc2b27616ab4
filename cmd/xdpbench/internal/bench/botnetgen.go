package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Offsets in a SYN frame built by synFrame (Ethernet, IPv4 without
// options, TCP).
const (
	offIPCsum  = 14 + 10
	offSrc     = 14 + 12
	offTCPCsum = 14 + 20 + 16
	synLen     = 14 + 20 + 20
)

// spreadTXProgram returns an XDP program that rewrites each frame, a
// synFrame from base, to come from base+i for i picked at random below n
// (bpf_get_prandom_u32, so the order is random and every frame may come
// from a different source), fixes both checksums by RFC 1624 (see
// csumReplace32: the constants k below are ~HC + ~m of the template) and
// sends it out (XDP_TX). It writes absolute values, so a recycled page
// that still holds an earlier frame's fields is rewritten correctly.
func spreadTXProgram(tmpl []byte, base netip.Addr, n uint32) (*ebpf.Program, error) {
	if len(tmpl) != synLen || n == 0 || !base.Is4() {
		return nil, fmt.Errorf("build flood generator: want a %d-byte IPv4 SYN and n > 0", synLen)
	}
	b := binary.BigEndian.Uint32(base.AsSlice())
	if uint64(b)+uint64(n) > 1<<32 {
		return nil, fmt.Errorf("build flood generator: %s + %d overflows IPv4", base, n)
	}
	// k = ~HC + ~m, the part of RFC 1624's sum that does not change.
	k := func(off int) int32 {
		hc := binary.BigEndian.Uint16(tmpl[off:])
		return int32(uint32(^hc) + uint32(^uint16(b>>16)) + uint32(^uint16(b)))
	}
	// csum folds r4 (m', the new address's two words summed) + k into
	// the checksum at off.
	csum := func(off int) asm.Instructions {
		return asm.Instructions{
			asm.Mov.Reg(asm.R5, asm.R4),
			asm.Add.Imm(asm.R5, k(off)),
			asm.Mov.Reg(asm.R0, asm.R5),
			asm.RSh.Imm(asm.R0, 16),
			asm.And.Imm(asm.R5, 0xffff),
			asm.Add.Reg(asm.R5, asm.R0),
			asm.Mov.Reg(asm.R0, asm.R5),
			asm.RSh.Imm(asm.R0, 16),
			asm.And.Imm(asm.R5, 0xffff),
			asm.Add.Reg(asm.R5, asm.R0),
			asm.Xor.Imm(asm.R5, 0xffff), // ~ on 16 bits
			asm.HostTo(asm.BE, asm.R5, asm.Half),
			asm.StoreMem(asm.R2, int16(off), asm.R5, asm.Half),
		}
	}
	ins := asm.Instructions{
		asm.Mov.Reg(asm.R7, asm.R1),
		asm.FnGetPrandomU32.Call(),
		asm.Mov.Reg(asm.R6, asm.R0),
		asm.Mod.Imm32(asm.R6, int32(n)),          // i; unsigned, as BPF's mod is
		asm.Add.Imm32(asm.R6, int32(b)),          // base + i, 32-bit, zero-extended
		asm.LoadMem(asm.R2, asm.R7, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R7, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, synLen),
		asm.JGT.Reg(asm.R4, asm.R3, "out"), // the verifier needs the bound
		asm.Mov.Reg(asm.R5, asm.R6),
		asm.HostTo(asm.BE, asm.R5, asm.Word),
		asm.StoreMem(asm.R2, offSrc, asm.R5, asm.Word),
		// r4 = m' = high word + low word of the new address
		asm.Mov.Reg(asm.R4, asm.R6),
		asm.RSh.Imm(asm.R4, 16),
		asm.And.Imm(asm.R6, 0xffff),
		asm.Add.Reg(asm.R4, asm.R6),
	}
	ins = append(ins, csum(offIPCsum)...)
	ins = append(ins, csum(offTCPCsum)...)
	ins = append(ins,
		asm.Mov.Imm(asm.R0, xdpTX).WithSymbol("out"),
		asm.Return(),
	)
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "bench_spread_tx", Type: ebpf.XDP, Instructions: ins, License: "Dual BSD/GPL"})
	if err != nil {
		return nil, fmt.Errorf("load flood generator: %w", err)
	}
	return p, nil
}

// addrFromU32 is the IPv4 address v.
func addrFromU32(v uint32) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}
