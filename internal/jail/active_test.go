package jail

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// TestActiveBansMatchAMap drives adds, replacements and removals of
// IPv4 addresses and IPv6 prefixes at random, and checks the index, the
// records and the heap of ends against a plain map after every step.
func TestActiveBansMatchAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := newActiveBans()
	model := map[netip.Prefix]Ban{}
	prefix := func() netip.Prefix {
		if rng.IntN(2) == 0 {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(rng.IntN(4)), byte(rng.IntN(256))}), 32)
		}
		p, _ := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(256))}).Prefix([]int{64, 128}[rng.IntN(2)])
		return p
	}
	for step := range 50000 {
		p := prefix()
		if rng.IntN(3) == 0 {
			b, ok := s.remove(p)
			want, had := model[p]
			if ok != had || (ok && !b.same(want)) {
				t.Fatalf("step %d: remove %v: %+v %v, want %+v %v", step, p, b, ok, want, had)
			}
			delete(model, p)
		} else {
			b := Ban{Prefix: p, Start: t0, Origin: []Origin{OriginJail, OriginManual}[rng.IntN(2)], Count: rng.IntN(5)}
			if rng.IntN(5) > 0 {
				b.End = t0.Add(time.Duration(1+rng.IntN(1000)) * time.Second)
			}
			_, had := model[p]
			if replaced := s.add(b); replaced != had {
				t.Fatalf("step %d: add %v replaced %v, want %v", step, p, replaced, had)
			}
			model[p] = b
		}
		if step%97 != 0 {
			continue
		}
		if s.len() != len(model) {
			t.Fatalf("step %d: %d bans, want %d", step, s.len(), len(model))
		}
		for p, want := range model {
			if got, ok := s.get(p); !ok || !got.same(want) {
				t.Fatalf("step %d: get %v: %+v %v, want %+v", step, p, got, ok, want)
			}
		}
		for h := range s.ends {
			if int(s.recs[s.ends[h]].heap) != h || (h > 0 && s.endOf((h-1)/2) > s.endOf(h)) {
				t.Fatalf("step %d: heap broken at %d", step, h)
			}
		}
	}
	// Popping every end gives the timed bans in order of end.
	var last time.Time
	for _, b := range s.popEnded(t0.Add(time.Hour)) {
		if b.End.Before(last) {
			t.Fatalf("popped %v after %v", b.End, last)
		}
		last = b.End
	}
}

// TestMemoryPerBan: the jail keeps a ban in force in at most 64 bytes
// of heap, so a million bans cost 64 MB.
func TestMemoryPerBan(t *testing.T) {
	const n = 1 << 18
	j, _, _ := newTestJail(t, testConfig())
	adopt := func() {
		bans := make([]Ban, n)
		for i := range bans {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			bans[i] = Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, End: t0.Add(time.Hour + time.Duration(i)), Origin: OriginJail, Count: 1}
		}
		j.Adopt(bans)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	adopt()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes per ban in force", per)
	if per > 64 {
		t.Errorf("%.1f bytes per ban in force, want at most 64", per)
	}
	if s := j.Stats(); s.CurrentlyBanned != n {
		t.Fatalf("%d banned, want %d", s.CurrentlyBanned, n)
	}
}
