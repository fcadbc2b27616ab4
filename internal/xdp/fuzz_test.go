package xdp

import (
	"net/netip"
	"testing"
	"time"

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

// FuzzStraightPathMatchesParser checks the program's two parsers against
// each other: untagged IPv4 takes the straight path, the same packet
// behind a VLAN tag the general parser, and both must give one verdict.
// The source of every seed is banned, so a disagreement shows as a drop
// on one side only; the fuzzer varies everything after the Ethernet
// header (version, header length, protocol, fragment bits, ports, size).
func FuzzStraightPathMatchesParser(f *testing.F) {
	for _, fr := range []frame{
		tcpTo(banned4, server4, 6619),
		tcpTo(banned4, server4, 22),
		{src: banned4, dst: server4, proto: 17, dport: 6619, payload: 20},
		{src: banned4, dst: server4, proto: 6, dport: 6619, fragOff: 3, payload: 20},
		{src: banned4, dst: server4, proto: 6, dport: 6619, ipOptions: 8},
	} {
		f.Add(fr.build()[14:], false)
		f.Add(fr.build()[14:], true)
	}
	// A later fragment whose payload looks like a TCP header to 6619.
	frag := tcpTo(banned4, server4, 6619).build()[14:]
	frag[7] = 3 // fragment offset 3 (x8 bytes)
	f.Add(frag, false)
	loaded := map[bool]*Datapath{}
	for _, all := range []bool{false, true} {
		ports := DefaultPorts
		if all {
			ports = Ports{All: true}
		}
		d := loadTest(f, Config{Ports: ports})
		if err := d.BanMap().Ban(netip.PrefixFrom(banned4, 32), time.Now().Add(time.Hour)); err != nil {
			f.Fatal(err)
		}
		loaded[all] = d
	}
	f.Fuzz(func(t *testing.T, l3 []byte, allPorts bool) {
		d := loaded[allPorts]
		eth := make([]byte, 12, 18+len(l3))
		untagged := append(append(eth, 0x08, 0x00), l3...)
		tagged := append(append(append([]byte(nil), eth...), 0x81, 0x00, 0x00, 0x64, 0x08, 0x00), l3...)
		a, b := run(t, d.prog, untagged), run(t, d.prog, tagged)
		if a != b {
			t.Fatalf("untagged verdict %d, VLAN-tagged %d, for IPv4 %x", a, b, l3)
		}
	})
}
