package state

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

type nopKernel struct{}

func (nopKernel) Ban(netip.Prefix, time.Time) error { return nil }
func (nopKernel) Unban(netip.Prefix) error          { return nil }

// BenchmarkRestore1M measures a daemon start with a million stored bans:
// open (which reads the file through), read the bans, reconcile after a
// reboot, and restore them into the jail and the enforcer.
func BenchmarkRestore1M(b *testing.B) {
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
	cfg := jail.DefaultConfig()
	cfg.SelfAddrs = func() []netip.Addr { return nil }
	now := func() time.Time { return t0 }
	for b.Loop() {
		s, _, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		stored, err := s.ActiveBans()
		if err != nil {
			b.Fatal(err)
		}
		keep, _ := Reconcile(stored, nil, true, t0)
		j, err := jail.New(cfg, nopKernel{}, jail.WithClock(now))
		if err != nil {
			b.Fatal(err)
		}
		if r, _, err := j.Restore(keep); err != nil || r != n {
			b.Fatalf("restored %d: %v", r, err)
		}
		s.Close()
	}
}

func BenchmarkSaveBan(b *testing.B) {
	s, _, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	i := 0
	for b.Loop() {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		i++
		if err := s.SaveBan(jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, Origin: jail.OriginJail}); err != nil {
			b.Fatal(err)
		}
	}
}
