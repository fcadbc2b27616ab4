package xdp

import "github.com/cilium/ebpf"

// Program is the loaded XDP program, for callers that run it directly
// (BPF_PROG_TEST_RUN benchmarks) or attach it without pinning a link. The
// Datapath keeps ownership: do not close it.
func (d *Datapath) Program() *ebpf.Program {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.prog
}
