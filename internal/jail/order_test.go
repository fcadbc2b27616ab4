package jail

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/testutil"
)

// blockingEnforcer's Ban blocks until released, as a map write that has
// to evict from a full million-entry map walks it.
type blockingEnforcer struct {
	*fakeEnforcer
	entered chan netip.Prefix
	release chan struct{}
}

func (e blockingEnforcer) Ban(b Ban) (netip.Prefix, error) {
	e.entered <- b.Prefix
	<-e.release
	return e.fakeEnforcer.Ban(b)
}

// TestSlowEnforcerDoesNotBlockCounting: the enforcer runs outside the
// jail's lock, so while a ban's map write hangs, failures of other
// addresses are counted and Stats and Bans answer.
func TestSlowEnforcerDoesNotBlockCounting(t *testing.T) {
	enf := blockingEnforcer{newEnforcer(), make(chan netip.Prefix, 4), make(chan struct{})}
	j, err := New(testConfig(), enf)
	if err != nil {
		t.Fatal(err)
	}
	banned := make(chan *Ban, 1)
	go func() {
		var last *Ban
		for range 3 {
			last, _ = j.Fail(fail("198.18.30.1", time.Time{}))
		}
		banned <- last
	}()
	testutil.WaitFor(t, enf.entered, "the enforcer asked to ban")
	done := make(chan Stats, 1)
	go func() {
		for range 2 {
			j.Fail(fail("198.18.30.2", time.Time{}))
		}
		j.Bans()
		done <- j.Stats()
	}()
	s := testutil.WaitFor(t, done, "counting while the enforcer hangs")
	if s.CurrentlyFailed != 1 || s.TotalFailed != 5 {
		t.Fatalf("stats while the enforcer hangs: %+v", s)
	}
	close(enf.release)
	if b := testutil.WaitFor(t, banned, "the ban after release"); b == nil {
		t.Fatal("the third failure did not ban")
	}
}

// evictingEnforcer holds at most max bans and, when full, lifts the one
// that ends soonest, as the ban set does with the map.
type evictingEnforcer struct {
	*fakeEnforcer
	max int
}

func (e evictingEnforcer) Ban(b Ban) (netip.Prefix, error) {
	e.mu.Lock()
	var victim netip.Prefix
	if _, there := e.active[b.Prefix]; !there && len(e.active) >= e.max {
		var soon time.Time
		for p, end := range e.active {
			if !end.IsZero() && (!victim.IsValid() || end.Before(soon)) {
				victim, soon = p, end
			}
		}
		delete(e.active, victim)
	}
	e.mu.Unlock()
	_, err := e.fakeEnforcer.Ban(b)
	return victim, err
}

// TestEvictionLeavesTheJail: a ban the enforcer evicted to make room is
// no longer in the jail, its unban hook runs and the history forgets it.
func TestEvictionLeavesTheJail(t *testing.T) {
	enf := evictingEnforcer{newEnforcer(), 2}
	clk := newClock()
	var unbanned []netip.Prefix
	j, err := New(testConfig(), enf, WithClock(clk.Now), WithOnUnban(func(b Ban) { unbanned = append(unbanned, b.Prefix) }))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []time.Duration{time.Hour, time.Minute, 2 * time.Hour} {
		if _, err := j.BanManual(netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 31, byte(i)}), 32), d); err != nil {
			t.Fatal(err)
		}
	}
	if len(unbanned) != 1 || unbanned[0] != pfx("198.18.31.1/32") {
		t.Fatalf("unban hooks %v, want the ban ending soonest", unbanned)
	}
	if s := j.Stats(); s.CurrentlyBanned != 2 || s.Evicted != 1 {
		t.Fatalf("stats %+v, want 2 banned and 1 evicted", s)
	}
	for _, b := range j.Bans() {
		if _, ok := enf.until(b.Prefix); !ok {
			t.Errorf("jail holds %v, the enforcer does not", b.Prefix)
		}
	}
}

// TestConcurrentDecisionsReachTheEnforcerInOrder: bans, unbans and
// expiry of a few prefixes from many goroutines at once; afterwards the
// enforcer holds exactly what the jail holds, with the same ends. Were
// the enforcer called in another order than the jail decided, an unban
// overtaking a ban would leave them apart.
func TestConcurrentDecisionsReachTheEnforcerInOrder(t *testing.T) {
	clk := newClock()
	enf := newEnforcer()
	j, err := New(testConfig(), enf, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 2000 {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 32, byte(rng.IntN(6))}), 32)
				switch rng.IntN(5) {
				case 0, 1:
					j.BanManual(p, time.Duration(1+rng.IntN(20))*time.Second)
				case 2:
					j.Unban(p)
				case 3:
					j.Fail(event.Failure{Addr: p.Addr(), Time: clk.Now()})
				default:
					clk.Add(time.Second)
					j.Expire()
				}
			}
		})
	}
	wg.Wait()
	inJail := map[netip.Prefix]time.Time{}
	j.mu.Lock()
	j.bans.each(func(b Ban) { inJail[b.Prefix] = b.End })
	j.mu.Unlock()
	enf.mu.Lock()
	defer enf.mu.Unlock()
	if len(inJail) != len(enf.active) {
		t.Fatalf("jail holds %v, enforcer %v", inJail, enf.active)
	}
	for p, end := range inJail {
		if got, ok := enf.active[p]; !ok || !got.Equal(end) {
			t.Fatalf("%v: jail until %v, enforcer %v (%v)", p, end, got, ok)
		}
	}
}
