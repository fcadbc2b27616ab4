package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// checkingEnforcer fails the test when asked to ban an ignored address.
type checkingEnforcer struct {
	*fakeEnforcer
	t       testing.TB
	ignored []netip.Addr
}

func (e checkingEnforcer) Ban(b Ban) (netip.Prefix, error) {
	for _, a := range e.ignored {
		if b.Prefix.Contains(a) {
			e.t.Fatalf("enforcer asked to ban %v, which holds ignored %v", b.Prefix, a)
		}
	}
	return e.fakeEnforcer.Ban(b)
}

var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("127.0.0.1"),     // ignoreip 127.0.0.0/8
	netip.MustParseAddr("10.9.0.5"),      // ignoreip 10.9.0.0/16
	netip.MustParseAddr("2001:db8:1::1"), // ignoreip /128, its /64 is shared with the next but one
	netip.MustParseAddr("198.18.0.9"),    // ignoreself
	netip.MustParseAddr("2001:db8:1::2"),
	netip.MustParseAddr("198.18.0.1"),
	netip.MustParseAddr("198.18.0.2"),
	netip.MustParseAddr("2001:db8:2::1"),
	netip.MustParseAddr("2001:db8:2::9"), // same /64 as the previous
}

// fuzzFirstBannable splits fuzzAddrs into ignored ones and the rest.
const fuzzFirstBannable = 4

// FuzzJailInvariants drives the jail with arbitrary event sequences and
// checks: no ignored address is ever banned, a failure never bans what an
// active ban already covers, and every jail ban ends at the time the
// increment formula gives for its count.
func FuzzJailInvariants(f *testing.F) {
	f.Add([]byte{0, 5, 0, 5, 0, 5, 3, 200, 0, 5, 0, 5, 0, 5})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 4, 0, 4, 0, 4})
	f.Add([]byte{0, 3, 1, 3, 2, 3, 0, 7, 0, 8, 0, 7, 5, 3, 4, 6, 3, 9, 5, 0})
	f.Add([]byte{4, 5, 0, 5, 0, 5, 0, 5, 5, 5, 0, 5, 0, 5, 0, 5, 3, 255, 3, 255, 5, 1})
	f.Add([]byte{0, 0x35, 0, 0x25, 0, 0x15, 0, 0x05, 3, 90, 0, 0xf6, 0, 0x06, 0, 0x86})
	f.Fuzz(func(t *testing.T, ops []byte) {
		cfg := testConfig()
		cfg.IgnoreIP = []netip.Prefix{pfx("127.0.0.0/8"), pfx("10.9.0.0/16"), pfx("2001:db8:1::1/128")}
		cfg.SelfAddrs = func() []netip.Addr { return []netip.Addr{fuzzAddrs[3]} }
		cfg.IPv6Prefix = 64
		cfg.BanTime = 2 * time.Minute
		cfg.Increment = true
		cfg.MaxTime = 30 * time.Minute
		cfg.RndTime = 10 * time.Second
		cfg.DBPurgeAge = time.Hour
		enf := checkingEnforcer{newEnforcer(), t, fuzzAddrs[:fuzzFirstBannable]}
		clk := newClock()
		const rnd = 0.5
		j, err := New(cfg, enf, WithClock(clk.Now), WithRand(func() float64 { return rnd }))
		if err != nil {
			t.Fatal(err)
		}
		starts := map[netip.Prefix][]time.Time{} // every ban, for the expected count
		for len(ops) >= 2 {
			op, arg := ops[0]%6, ops[1]
			ops = ops[2:]
			now := clk.Now()
			switch op {
			case 0, 1, 2:
				a := fuzzAddrs[int(arg)%len(fuzzAddrs)]
				at := now.Add(-time.Duration(arg>>4) * 10 * time.Second)
				_, coveredBefore := j.bans.covering(a, now)
				b, err := j.Fail(event.Failure{Addr: a, Time: at})
				if err != nil && !errors.Is(err, ErrCoversIgnored) {
					t.Fatal(err)
				}
				if b == nil {
					continue
				}
				if coveredBefore {
					t.Fatalf("second ban %v for %v while banned", b, a)
				}
				prior := 0
				for _, s := range starts[b.Prefix] {
					if !s.Before(now.Add(-cfg.DBPurgeAge)) {
						prior++
					}
				}
				if b.Count != prior+1 {
					t.Fatalf("ban %v: count %d, want %d", b.Prefix, b.Count, prior+1)
				}
				if want := at.Add(cfg.banDuration(prior, func() float64 { return rnd })); !b.Start.Equal(at) || !b.End.Equal(want) {
					t.Fatalf("ban %v: %v..%v, want %v..%v", b.Prefix, b.Start, b.End, at, want)
				}
				starts[b.Prefix] = append(starts[b.Prefix], b.Start)
			case 3:
				clk.Add(time.Duration(arg) * 7 * time.Second)
			case 4:
				a := fuzzAddrs[fuzzFirstBannable+int(arg)%(len(fuzzAddrs)-fuzzFirstBannable)]
				d := time.Duration(arg) * 10 * time.Second
				if arg == 0 {
					d = -1
				}
				p := netip.PrefixFrom(a, a.BitLen())
				before := len(j.Bans())
				b, err := j.BanManual(p, d)
				if errors.Is(err, ErrCoversIgnored) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				// Prolonging a ban in force is no new ban.
				if len(j.Bans()) > before {
					starts[b.Prefix] = append(starts[b.Prefix], b.Start)
				}
			case 5:
				if arg%2 == 0 {
					j.Expire()
					continue
				}
				a := fuzzAddrs[int(arg)%len(fuzzAddrs)]
				_ = j.Unban(netip.PrefixFrom(a, a.BitLen())) // ErrNotBanned is fine
			}
			// Ended bans stay in the enforcer until Expire; the count is of
			// bans in force, as the list is.
			inForce := 0
			for _, until := range enf.active {
				if until.IsZero() || until.After(clk.Now()) {
					inForce++
				}
			}
			if s := j.Stats(); s.CurrentlyBanned != inForce || s.CurrentlyBanned != len(j.Bans()) {
				t.Fatalf("jail counts %d bans in force and lists %d, enforcer holds %d", s.CurrentlyBanned, len(j.Bans()), inForce)
			}
		}
	})
}

// FuzzJailWindow compares the jail's decisions for in-order events with a
// naive model that keeps every failure: ban when maxretry failures fall
// within findtime, forget them after a ban; while banned, failures count
// and maxretry of them extend the ban instead of making another.
func FuzzJailWindow(f *testing.F) {
	f.Add(uint8(3), []byte{0, 10, 20, 30, 40, 50, 60, 70, 80})
	f.Add(uint8(1), []byte{5, 5, 5})
	f.Add(uint8(5), []byte{1, 2, 3, 200, 4, 5, 6, 7, 8, 9, 250, 250, 1, 1, 1, 1, 1})
	f.Add(uint8(2), []byte{0x80, 0x81, 0x82, 0x40, 0x41, 0x01, 0x02, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, maxRetry uint8, steps []byte) {
		cfg := testConfig()
		cfg.MaxRetry = int(maxRetry%6) + 1
		cfg.FindTime = 100 * time.Second
		cfg.BanTime = 30 * time.Second
		j, _, clk := newTestJail(t, cfg)
		addrs := []string{"198.18.0.1", "198.18.0.2", "2001:db8::1"}
		type model struct {
			times  []time.Time
			banEnd time.Time
		}
		naive := map[string]*model{}
		for _, s := range steps {
			clk.Add(time.Duration(s&0x3f) * time.Second)
			now := clk.Now()
			a := addrs[int(s>>6)%len(addrs)]
			md := naive[a]
			if md == nil {
				md = &model{}
				naive[a] = md
			}
			wantBan := false
			md.times = append(md.times, now)
			n := 0
			for _, ft := range md.times {
				if !ft.Before(now.Add(-cfg.FindTime)) {
					n++
				}
			}
			if n >= cfg.MaxRetry {
				// While banned, maxretry failures only push the end out.
				wantBan = !now.Before(md.banEnd)
				md.times = nil
				md.banEnd = now.Add(cfg.BanTime)
			}
			b, err := j.Fail(fail(a, now))
			if err != nil {
				t.Fatal(err)
			}
			if (b != nil) != wantBan {
				t.Fatalf("%v at %v: jail banned=%v, model %v", a, now.Sub(t0), b != nil, wantBan)
			}
		}
	})
}

func TestConcurrentSources(t *testing.T) {
	j, enf, _ := newTestJail(t, testConfig())
	const sources, addrs = 8, 200
	var wg sync.WaitGroup
	for s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range addrs {
				a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
				if _, err := j.Fail(event.Failure{Addr: a, Time: t0, Source: fmt.Sprint(s)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Every address failed 8 times: each must be banned exactly once.
	if s := j.Stats(); s.TotalBanned != addrs || s.CurrentlyBanned != addrs || enf.bans != addrs {
		t.Fatalf("stats %+v, enforcer bans %d; want %d", s, enf.bans, addrs)
	}
}
