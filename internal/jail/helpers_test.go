package jail

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// fakeEnforcer records the bans it holds and every call.
type fakeEnforcer struct {
	mu     sync.Mutex
	active map[netip.Prefix]time.Time
	bans   int
	unbans int
	fail   error
}

func newEnforcer() *fakeEnforcer { return &fakeEnforcer{active: map[netip.Prefix]time.Time{}} }

func (e *fakeEnforcer) Ban(b Ban) (netip.Prefix, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return netip.Prefix{}, e.fail
	}
	e.active[b.Prefix] = b.End
	e.bans++
	return netip.Prefix{}, nil
}

func (e *fakeEnforcer) Unban(p netip.Prefix) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	if _, ok := e.active[p]; !ok {
		return fmt.Errorf("no such entry: %w", ErrNotBanned)
	}
	delete(e.active, p)
	e.unbans++
	return nil
}

func (e *fakeEnforcer) until(p netip.Prefix) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.active[p]
	return u, ok
}

// testConfig is DefaultConfig with ignoreself answered without a network.
func testConfig() Config {
	c := DefaultConfig()
	c.SelfAddrs = func() []netip.Addr { return nil }
	return c
}

func newTestJail(t testing.TB, cfg Config, opts ...Option) (*Jail, *fakeEnforcer, *fakeClock) {
	t.Helper()
	enf, clk := newEnforcer(), newClock()
	j, err := New(cfg, enf, append([]Option{WithClock(clk.Now), WithRand(func() float64 { return 0 })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return j, enf, clk
}

func fail(addr string, at time.Time) event.Failure {
	return event.Failure{Addr: netip.MustParseAddr(addr), Time: at, Code: 167772359, Source: "test"}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// failN sends failures of addr at the given offsets from t0, with the
// clock at each failure's time, and returns the bans they caused.
func failN(t testing.TB, j *Jail, clk *fakeClock, addr string, offsets ...time.Duration) []Ban {
	t.Helper()
	var out []Ban
	for _, off := range offsets {
		clk.Set(t0.Add(off))
		b, err := j.Fail(fail(addr, t0.Add(off)))
		if err != nil {
			t.Fatalf("Fail(%s at +%v): %v", addr, off, err)
		}
		if b != nil {
			out = append(out, *b)
		}
	}
	return out
}
