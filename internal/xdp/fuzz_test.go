package xdp

import (
	"testing"

	"github.com/cilium/ebpf"
)

// FuzzNoBanAlwaysPasses feeds arbitrary frames to the program. With no ban
// in the map nothing may ever be dropped, whatever the bytes claim to be.
// Under plain `go test` the seed corpus runs.
func FuzzNoBanAlwaysPasses(f *testing.F) {
	for _, fr := range []frame{
		tcpTo(other4, server4, 6619),
		tcpTo(otherNet6, server6, 6619),
		{vlans: []uint16{0x8100, 0x88a8}, src: other4, dst: server4, proto: 6, dport: 6619, ipOptions: 40},
		{src: otherNet6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{0, 43, 44, 51, 60}},
		{etherType: 0x0806},
	} {
		f.Add(fr.build())
	}
	f.Add(make([]byte, 14))
	// "all ports" makes every parsed packet reach the map lookup.
	d := loadTest(f, Config{Ports: Ports{All: true}, IPv6Prefix: 64})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) < 14 {
			return // BPF_PROG_TEST_RUN needs an Ethernet header
		}
		ret, err := d.prog.Run(&ebpf.RunOptions{Data: pkt})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if ret != xdpPass {
			t.Fatalf("verdict %d for %x with no matching ban", ret, pkt)
		}
	})
}
