package bench

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/xdpban/xdpban/internal/testutil"
)

// TestSpreadTXProgram runs the botnet generator on its template through
// BPF_PROG_TEST_RUN: every frame it sends is the SYN synFrame builds for a
// source in base..base+n-1, checksums recomputed from scratch, and the
// sources spread over the range (with n = 100,000 and 4,000 frames, about
// 80 repeats are expected; a generator stuck on few sources has far more).
func TestSpreadTXProgram(t *testing.T) {
	testutil.RequireRoot(t)
	base := netip.MustParseAddr("198.18.64.0")
	for _, c := range []struct {
		n, frames, minDistinct int
	}{{1, 50, 1}, {3, 300, 3}, {100_000, 4000, 3800}} {
		tmpl := synFrame(benchMAC1, benchMAC2, base, labServer, 40000, labPort)
		prog, err := spreadTXProgram(tmpl, base, uint32(c.n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { prog.Close() })
		b := binary.BigEndian.Uint32(base.AsSlice())
		seen := map[uint32]bool{}
		out := make([]byte, len(tmpl))
		for range c.frames {
			ret, err := prog.Run(&ebpf.RunOptions{Data: tmpl, DataOut: out})
			if err != nil {
				t.Fatal(err)
			}
			if ret != xdpTX {
				t.Fatalf("n=%d: verdict %d, want XDP_TX", c.n, ret)
			}
			src := binary.BigEndian.Uint32(out[offSrc:])
			if src < b || src-b >= uint32(c.n) {
				t.Fatalf("n=%d: source %s outside %s + %d", c.n, addrFromU32(src), base, c.n)
			}
			if want := synFrame(benchMAC1, benchMAC2, addrFromU32(src), labServer, 40000, labPort); !bytes.Equal(out, want) {
				t.Fatalf("n=%d: frame from %s\n got %x\nwant %x", c.n, addrFromU32(src), out, want)
			}
			seen[src] = true
		}
		if len(seen) < c.minDistinct {
			t.Errorf("n=%d: %d distinct sources in %d frames, want at least %d", c.n, len(seen), c.frames, c.minDistinct)
		}
	}
}

func TestSpreadTXProgramRejectsOverflow(t *testing.T) {
	tmpl := synFrame(benchMAC1, benchMAC2, netip.MustParseAddr("255.255.255.0"), labServer, 40000, labPort)
	if _, err := spreadTXProgram(tmpl, netip.MustParseAddr("255.255.255.0"), 1000); err == nil {
		t.Fatal("no error for a range past 255.255.255.255")
	}
}
