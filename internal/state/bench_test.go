package state

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// BenchmarkRead1M measures reading a million stored bans at start: open
// (which reads the file through) and ActiveBans.
func BenchmarkRead1M(b *testing.B) {
	const n = 1000000
	dir := b.TempDir()
	s, _, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	bans := make([]jail.Ban, n)
	for i := range bans {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		bans[i] = jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, End: t0.Add(time.Duration(i+1) * time.Second),
			Origin: jail.OriginJail, Count: 1}
	}
	saveStart := time.Now()
	if err := s.SaveBans(bans); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(saveStart).Seconds(), "s/save1M")
	s.Close()
	for b.Loop() {
		s, _, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		stored, err := s.ActiveBans()
		if err != nil || len(stored) != n {
			b.Fatalf("read %d: %v", len(stored), err)
		}
		s.Close()
	}
}

func BenchmarkPutBan(b *testing.B) {
	s, _, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	i := 0
	for b.Loop() {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		i++
		if err := s.PutBan(jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, Origin: jail.OriginJail}); err != nil {
			b.Fatal(err)
		}
	}
}
