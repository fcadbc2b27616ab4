package jail

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// nopEnforcer is log-only mode: it bans nothing.
type nopEnforcer struct{}

func (nopEnforcer) Ban(Ban) (netip.Prefix, error) { return netip.Prefix{}, nil }
func (nopEnforcer) Unban(netip.Prefix) error      { return nil }

// benchStep spaces an address's failures just over findtime/2 apart, so
// with maxretry 3 it is counted every time and never banned: the full
// counting path, not the banned shortcut. findtime is short so that a
// billion events stay within the range of UnixNano.
const (
	benchFindTime = time.Second
	benchStep     = benchFindTime/2 + time.Millisecond
)

func benchJail(b *testing.B, maxTracked int) (*Jail, *time.Time) {
	cfg := testConfig()
	cfg.MaxTracked = maxTracked
	cfg.FindTime = benchFindTime
	now := t0
	j, err := New(cfg, nopEnforcer{}, WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	return j, &now
}

func BenchmarkFailHotAddress(b *testing.B) {
	j, now := benchJail(b, 100000)
	ev := event.Failure{Addr: netip.MustParseAddr("198.18.0.1")}
	b.ReportAllocs()
	for b.Loop() {
		*now = now.Add(benchStep)
		ev.Time = *now
		if ban, _ := j.Fail(ev); ban != nil {
			b.Fatal("banned")
		}
	}
}

func BenchmarkFailHotBannedAddress(b *testing.B) {
	j, _ := benchJail(b, 100000)
	ev := event.Failure{Addr: netip.MustParseAddr("198.18.0.1"), Time: t0}
	for range 3 {
		j.Fail(ev)
	}
	b.ReportAllocs()
	for b.Loop() {
		j.Fail(ev)
	}
}

func BenchmarkFailDistinct100k(b *testing.B) { benchDistinct(b, 100000) }
func BenchmarkFailDistinct1M(b *testing.B)   { benchDistinct(b, 1000000) }

// benchDistinct cycles through n addresses (half IPv4, half IPv6), each
// failing every benchStep, and reports the heap held per tracked address.
func benchDistinct(b *testing.B, n int) {
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		if i%2 == 0 {
			addrs[i] = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		} else {
			addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	j, now := benchJail(b, n)
	step := benchStep / time.Duration(n)
	ev := event.Failure{}
	for _, a := range addrs {
		*now = now.Add(step)
		ev.Addr, ev.Time = a, *now
		j.Fail(ev)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := j.Stats().CurrentlyFailed; got != n {
		b.Fatalf("tracking %d of %d", got, n)
	}
	perAddr := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		*now = now.Add(step)
		ev.Addr, ev.Time = addrs[i], *now
		if ban, _ := j.Fail(ev); ban != nil {
			b.Fatal("banned")
		}
		if i++; i == n {
			i = 0
		}
	}
	runtime.KeepAlive(j)
	// After the loop: b.Loop's first call resets user metrics.
	b.ReportMetric(perAddr, "B/addr")
}
