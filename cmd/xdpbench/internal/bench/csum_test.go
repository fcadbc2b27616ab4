package bench

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestCsumReplace32MatchesRecomputation: the incremental update of both
// checksums of a SYN after its source address changed equals computing
// them again over the whole header, for edge values and random ones.
func TestCsumReplace32MatchesRecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := [][2]uint32{
		{0, 0}, {0, 0xffffffff}, {0xffffffff, 0}, {0xffff0000, 0x0000ffff},
		{0xc6124000, 0xc6124001}, {0xc612ffff, 0xc6130000}, {0xc6124000, 0xc6124000 + 99_999},
	}
	for range 100_000 {
		addrs = append(addrs, [2]uint32{rng.Uint32(), rng.Uint32()})
	}
	dst := netip.MustParseAddr("198.18.0.1")
	for _, a := range addrs {
		old, new := addrFromU32(a[0]), addrFromU32(a[1])
		tmpl := synFrame(benchMAC1, benchMAC2, old, dst, 40000, labPort)
		want := synFrame(benchMAC1, benchMAC2, new, dst, 40000, labPort)
		ip := csumReplace32(binary.BigEndian.Uint16(tmpl[offIPCsum:]), a[0], a[1])
		tcp := csumReplace32(binary.BigEndian.Uint16(tmpl[offTCPCsum:]), a[0], a[1])
		if w := binary.BigEndian.Uint16(want[offIPCsum:]); ip != w {
			t.Fatalf("%s -> %s: IP checksum %#04x, recomputed %#04x", old, new, ip, w)
		}
		if w := binary.BigEndian.Uint16(want[offTCPCsum:]); tcp != w {
			t.Fatalf("%s -> %s: TCP checksum %#04x, recomputed %#04x", old, new, tcp, w)
		}
	}
}

func TestCsumFold(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{{0, 0}, {0xffff, 0xffff}, {0x10000, 1}, {0x1fffe, 0xffff}, {0xffffffff, 0xffff}, {0x2fffd, 0xffff}} {
		if got := csumFold(c.in); got != c.want {
			t.Errorf("csumFold(%#x) = %#x, want %#x", c.in, got, c.want)
		}
	}
}
