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

// txProgram returns a program that sends every frame back out (XDP_TX).
func txProgram() (*ebpf.Program, error) { return constProg("bench_tx", ebpf.XDP, xdpTX) }

// tcDropProgram drops every packet (TCX_DROP) where it is attached at tc.
func tcDropProgram() (*ebpf.Program, error) { return constProg("bench_tc_drop", ebpf.SchedCLS, 2) }
