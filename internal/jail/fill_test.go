package jail

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestFillBuildsWhatAddBuilds fills sets of random sizes, from a few bans
// in the smallest index (whose runs often wrap past its end) to
// thousands, and checks that every ban is found as given, that removing
// them one by one keeps finding the rest (deletion relies on the probing
// layout), that the heap of ends and the prefix lengths hold, and that
// two bans of one prefix make fill give up and leave the set empty.
func TestFillBuildsWhatAddBuilds(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 300 {
		n := 1 + rng.IntN(31)
		if trial%100 == 0 {
			n = 5000 + rng.IntN(5000)
		}
		seen := map[netip.Prefix]bool{}
		var bans []Ban
		for len(bans) < n {
			var p netip.Prefix
			switch rng.IntN(3) {
			case 0:
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(rng.IntN(256)), byte(rng.IntN(256))}), 32)
			case 1:
				p, _ = netip.AddrFrom4([4]byte{198, 18, byte(rng.IntN(256)), 0}).Prefix(16 + rng.IntN(16))
			default:
				p, _ = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 6: byte(rng.IntN(256)), 7: byte(rng.IntN(256))}).Prefix(48 + rng.IntN(17))
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			b := Ban{Prefix: p, Start: t0, Origin: []Origin{OriginJail, OriginManual, OriginCrowdSec}[rng.IntN(3)], Count: 1 + rng.IntN(5)}
			if rng.IntN(5) > 0 {
				b.End = t0.Add(time.Duration(1+rng.IntN(100000)) * time.Millisecond)
			}
			bans = append(bans, b)
		}
		s := newActiveBans()
		if !s.fill(bans) {
			t.Fatalf("trial %d: fill of %d distinct bans gave up", trial, n)
		}
		checkSet(t, &s, bans)
		for len(bans) > 0 {
			k := rng.IntN(len(bans))
			if _, ok := s.remove(bans[k].Prefix); !ok {
				t.Fatalf("trial %d: remove %v: not found", trial, bans[k].Prefix)
			}
			bans = append(bans[:k], bans[k+1:]...)
			if n < 100 || len(bans)%2503 == 0 {
				checkSet(t, &s, bans)
			}
		}

		// The same prefix twice: fill leaves the set empty for add.
		dup := []Ban{{Prefix: netip.MustParsePrefix("198.18.0.1/32"), Start: t0, Origin: OriginJail, Count: 1},
			{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Start: t0, Origin: OriginJail, Count: 1},
			{Prefix: netip.MustParsePrefix("::ffff:198.18.0.1/128"), Start: t0, Origin: OriginManual, Count: 2}}
		s = newActiveBans()
		if s.fill(dup[:1+rng.IntN(2)]) != true || s.fill(dup) {
			t.Fatalf("fill: a set that holds bans, or two bans of 198.18.0.1/32, filled")
		}
		if s2 := newActiveBans(); s2.fill(dup) || s2.len() != 0 || len(s2.ends) != 0 || len(s2.lens[0]) != 0 {
			t.Fatalf("fill with a duplicate left %d bans, %d ends, lengths %v", s2.len(), len(s2.ends), s2.lens)
		}
	}
}

// checkSet checks that s holds exactly bans, with a sound heap of ends
// and the prefix lengths in use.
func checkSet(t *testing.T, s *activeBans, bans []Ban) {
	t.Helper()
	if s.len() != len(bans) {
		t.Fatalf("%d bans, want %d", s.len(), len(bans))
	}
	lens := map[int]int{}
	timed := 0
	for _, b := range bans {
		if got, ok := s.get(b.Prefix); !ok || !got.same(b) {
			t.Fatalf("get %v: %+v %v, want %+v", b.Prefix, got, ok, b)
		}
		lens[family(b.Prefix.Addr())*1000+b.Prefix.Bits()]++
		if !b.End.IsZero() {
			timed++
		}
	}
	if len(s.ends) != timed {
		t.Fatalf("%d ends in the heap, want %d", len(s.ends), timed)
	}
	for h := range s.ends {
		if int(s.recs[s.ends[h]].heap) != h || (h > 0 && s.endOf((h-1)/2) > s.endOf(h)) {
			t.Fatalf("heap broken at %d", h)
		}
	}
	for f := range 2 {
		for _, bits := range s.lens[f] {
			if s.lenCount[f][bits] != lens[f*1000+bits] || s.lenCount[f][bits] == 0 {
				t.Fatalf("family %d /%d: count %d, want %d", f, bits, s.lenCount[f][bits], lens[f*1000+bits])
			}
			delete(lens, f*1000+bits)
		}
	}
	if len(lens) != 0 {
		t.Fatalf("prefix lengths in use but not listed: %v", lens)
	}
}
