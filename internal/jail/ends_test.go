package jail

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// TestExpireMatchesAWalk drives manual bans, re-bans, unbans and clock
// steps at random and checks that Expire (which pops a heap of ends) lifts
// exactly the bans a walk over every ban would find ended, and nothing else.
func TestExpireMatchesAWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	j, enf, clock := newTestJail(t, testConfig())
	model := map[netip.Prefix]time.Time{} // zero: permanent
	for step := 0; step < 20000; step++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(rng.IntN(64))}), 32)
		switch op := rng.IntN(10); {
		case op < 5:
			d := time.Duration(1+rng.IntN(600)) * time.Second
			if rng.IntN(20) == 0 {
				d = -1
			}
			b, err := j.BanManual(p, d)
			if err != nil {
				t.Fatal(err)
			}
			model[p] = b.End
		case op < 6:
			err := j.Unban(p)
			if _, banned := model[p]; banned != (err == nil) {
				t.Fatalf("step %d: unban %s: %v, model has it: %v", step, p, err, banned)
			}
			delete(model, p)
		case op < 9:
			clock.Add(time.Duration(rng.IntN(30)) * time.Second)
		default:
			now := clock.Now()
			want := map[netip.Prefix]bool{}
			for q, end := range model {
				if !end.IsZero() && !end.After(now) {
					want[q] = true
					delete(model, q)
				}
			}
			got := j.Expire()
			if len(got) != len(want) {
				t.Fatalf("step %d: Expire lifted %d bans, a walk finds %d ended", step, len(got), len(want))
			}
			for _, b := range got {
				if !want[b.Prefix] {
					t.Fatalf("step %d: Expire lifted %s, which has not ended", step, b.Prefix)
				}
				if _, still := enf.until(b.Prefix); still {
					t.Fatalf("step %d: %s still in the enforcer after Expire", step, b.Prefix)
				}
			}
		}
	}
	timed := 0
	j.bans.each(func(b Ban) {
		if !b.Permanent() {
			timed++
		}
	})
	if len(j.bans.ends) != timed {
		t.Errorf("heap of ends holds %d for %d timed bans", len(j.bans.ends), timed)
	}
}
