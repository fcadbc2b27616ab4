package jail

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func csBan(p string, end time.Time) Ban {
	return Ban{Prefix: pfx(p), Start: t0, End: end, Origin: OriginCrowdSec}
}

func banOf(t *testing.T, j *Jail, p string) (Ban, bool) {
	t.Helper()
	for _, b := range j.Bans() {
		if b.Prefix == pfx(p) {
			return b, true
		}
	}
	return Ban{}, false
}

func TestBanExternal(t *testing.T) {
	cfg := testConfig()
	cfg.IgnoreIP = []netip.Prefix{pfx("198.18.7.7/32")}
	var unbans []Ban
	j, enf, clk := newTestJail(t, cfg, WithOnUnban(func(b Ban) { unbans = append(unbans, b) }))

	changed, ignored, err := j.BanExternal([]Ban{
		csBan("198.18.8.1/32", t0.Add(time.Hour)),
		csBan("198.18.9.0/24", time.Time{}),
		csBan("198.18.7.0/24", t0.Add(time.Hour)),    // holds an ignored address
		csBan("198.18.8.2/32", t0.Add(-time.Second)), // ended already
	})
	if err != nil || len(changed) != 2 || len(ignored) != 1 || ignored[0] != pfx("198.18.7.0/24") {
		t.Fatalf("changed %v ignored %v err %v", changed, ignored, err)
	}
	if u, ok := enf.until(pfx("198.18.9.0/24")); !ok || !u.IsZero() {
		t.Errorf("range not enforced permanently: %v %v", u, ok)
	}
	if _, ok := enf.until(pfx("198.18.7.0/24")); ok {
		t.Error("a range holding an ignored address was enforced")
	}

	// The source extends its decision: the ban follows.
	if changed, _, _ := j.BanExternal([]Ban{csBan("198.18.8.1/32", t0.Add(2*time.Hour))}); len(changed) != 1 {
		t.Fatalf("extension changed %v", changed)
	}
	if u, _ := enf.until(pfx("198.18.8.1/32")); !u.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("extended ban ends %v", u)
	}

	// A jail ban of the same address keeps its origin; a decision that ends
	// later lengthens it, one that ends sooner changes nothing.
	if bs := failN(t, j, clk, "198.18.5.5", 0, time.Second, 2*time.Second); len(bs) != 1 {
		t.Fatalf("the jail did not ban after maxretry failures: %v", bs)
	}
	jb, _ := banOf(t, j, "198.18.5.5/32")
	if changed, _, _ := j.BanExternal([]Ban{csBan("198.18.5.5/32", t0.Add(time.Minute))}); len(changed) != 0 {
		t.Errorf("a shorter decision changed the jail's ban: %v", changed)
	}
	j.BanExternal([]Ban{csBan("198.18.5.5/32", jb.End.Add(time.Hour))})
	if b, _ := banOf(t, j, "198.18.5.5/32"); b.Origin == OriginCrowdSec || !b.End.Equal(jb.End.Add(time.Hour)) {
		t.Errorf("jail ban after a longer decision: %+v", b)
	}

	if ps := j.PrefixesOf(OriginCrowdSec); len(ps) != 2 {
		t.Errorf("crowdsec prefixes %v, want 198.18.8.1/32 and 198.18.9.0/24", ps)
	}

	// Deletions lift only what the source banned.
	lifted, err := j.UnbanExternal([]netip.Prefix{pfx("198.18.8.1/32"), pfx("198.18.5.5/32"), pfx("198.18.99.0/24")}, OriginCrowdSec)
	if err != nil || len(lifted) != 1 || lifted[0].Prefix != pfx("198.18.8.1/32") {
		t.Fatalf("lifted %v, %v", lifted, err)
	}
	if _, ok := enf.until(pfx("198.18.8.1/32")); ok {
		t.Error("the deleted decision is still enforced")
	}
	if _, ok := enf.until(pfx("198.18.5.5/32")); !ok {
		t.Error("the jail's ban was lifted by a deletion at the source")
	}
	if len(unbans) != 1 {
		t.Errorf("unban hooks ran for %v", unbans)
	}
}

// keepCounter is a History that counts its KeepBans calls.
type keepCounter struct {
	*MemHistory
	calls [][]Ban
}

func (h *keepCounter) KeepBans(bs []Ban) error {
	h.calls = append(h.calls, append([]Ban(nil), bs...))
	return nil
}

// TestBanExternalKeepsTheBatchInOneWrite: a snapshot of decisions reaches
// the history in one write (one store transaction and fsync in the
// daemon), not one per decision, which made a 100k-decision snapshot
// take 40 s instead of 1; a decision the enforcer refuses is not kept.
func TestBanExternalKeepsTheBatchInOneWrite(t *testing.T) {
	h := &keepCounter{MemHistory: NewMemHistory()}
	enf := &refusingEnforcer{fakeEnforcer: newEnforcer(), refuse: pfx("198.18.30.7/32")}
	j, err := New(testConfig(), enf, WithHistory(h), WithClock(newClock().Now))
	if err != nil {
		t.Fatal(err)
	}
	var batch []Ban
	for i := 1; i <= 50; i++ {
		batch = append(batch, csBan(netip.AddrFrom4([4]byte{198, 18, 30, byte(i)}).String()+"/32", t0.Add(time.Hour)))
	}
	changed, _, err := j.BanExternal(batch)
	if err == nil || len(changed) != 49 {
		t.Fatalf("changed %d, err %v; want 49 and the refusal", len(changed), err)
	}
	if len(h.calls) != 1 || len(h.calls[0]) != 49 {
		t.Fatalf("KeepBans called %d times (%v); want once with the 49 bans in force", len(h.calls), h.calls)
	}
	if _, ok := banOf(t, j, "198.18.30.7/32"); ok {
		t.Error("the refused decision is in force in the jail")
	}
}

// refusingEnforcer refuses the ban of one prefix.
type refusingEnforcer struct {
	*fakeEnforcer
	refuse netip.Prefix
}

func (e *refusingEnforcer) Ban(b Ban) (netip.Prefix, error) {
	if b.Prefix == e.refuse {
		return netip.Prefix{}, errors.New("refused")
	}
	return e.fakeEnforcer.Ban(b)
}
