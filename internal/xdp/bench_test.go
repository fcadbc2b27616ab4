package xdp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// BenchmarkPerPacket runs the program through BPF_PROG_TEST_RUN on a
// banned hit, a miss and another port, with 1 and 10k bans, and a bare
// XDP_PASS program as the floor. It reports ns/pkt and x-floor (the ratio
// to the floor measured in the same benchmark). `make bench` runs the
// fuller set (1M bans, random keys) through cmd/xdpbench.
func BenchmarkPerPacket(b *testing.B) {
	floor, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, xdpPass), asm.Return()},
		License:      "Dual BSD/GPL",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer floor.Close()
	d := loadTest(b, Config{MaxBans: 20_000})
	hit := frame{src: banned4, dst: server4, proto: 6, dport: 6619}.build()
	miss := frame{src: other4, dst: server4, proto: 6, dport: 6619}.build()
	other := frame{src: banned4, dst: server4, proto: 6, dport: 22}.build()

	floorNs := perPacketNs(b, floor, hit, 1_000_000)
	b.Run("floor", func(b *testing.B) { benchProgram(b, floor, hit, floorNs) })
	for _, n := range []int{1, 10_000} {
		fillBench(b, d, n)
		for _, c := range []struct {
			name string
			pkt  []byte
		}{{"hit", hit}, {"miss", miss}, {"other-port", other}} {
			b.Run(fmt.Sprintf("%s/bans=%d", c.name, n), func(b *testing.B) { benchProgram(b, d.prog, c.pkt, floorNs) })
		}
	}
}

// benchProgram runs prog b.N times in one syscall and reports the time
// per packet; the kernel's own figure is whole nanoseconds, too coarse.
func benchProgram(b *testing.B, prog *ebpf.Program, pkt []byte, floorNs float64) {
	ns := perPacketNs(b, prog, pkt, b.N)
	b.ReportMetric(ns, "ns/pkt")
	b.ReportMetric(ns/floorNs, "x-floor")
}

func perPacketNs(b *testing.B, prog *ebpf.Program, pkt []byte, n int) float64 {
	start := time.Now()
	if _, err := prog.Run(&ebpf.RunOptions{Data: pkt, Repeat: uint32(n)}); err != nil {
		b.Fatal(err)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// fillBench bans banned4 and then distinct addresses up to n bans.
func fillBench(b *testing.B, d *Datapath, n int) {
	if err := d.BanMap().Ban(netip.PrefixFrom(banned4, 32), time.Time{}); err != nil {
		b.Fatal(err)
	}
	var keys []xdpbanBanKey
	var vals []xdpbanBanValue
	for i := 1; i < n; i++ {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], 0xc6130000+uint32(i)) // 198.19.x.y
		keys = append(keys, xdpbanBanKey{Addr: netip.AddrFrom4(a).As16()})
		vals = append(vals, xdpbanBanValue{CreatedNs: 1})
	}
	if len(keys) > 0 {
		if _, err := d.bans.BatchUpdate(keys, vals, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBan measures Maps.Ban, the daemon's per-ban path into the map:
// a new address each time, and a ban of an address already banned.
func BenchmarkBan(b *testing.B) {
	d := loadTest(b, Config{MaxBans: 1 << 20})
	until := time.Now().Add(time.Hour)
	addr := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}), 32)
	}
	const span = 1 << 17 // addresses of 198.18.0.0/15
	b.Run("new", func(b *testing.B) {
		for i := range b.N {
			if i%span == 0 { // start from an empty map, outside the timing
				b.StopTimer()
				for j := range span {
					d.BanMap().Unban(addr(j))
				}
				b.StartTimer()
			}
			if err := d.BanMap().Ban(addr(i%span), until); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("again", func(b *testing.B) {
		p := addr(0)
		for range b.N {
			if err := d.BanMap().Ban(p, until); err != nil {
				b.Fatal(err)
			}
		}
	})
}
