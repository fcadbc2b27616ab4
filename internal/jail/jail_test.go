package jail

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/testutil"
)

const m = time.Minute

func TestMaxRetryExactlyReached(t *testing.T) {
	j, enf, clk := newTestJail(t, testConfig())
	if bans := failN(t, j, clk, "198.18.0.1", 0, m); len(bans) != 0 {
		t.Fatalf("banned after 2 of 3 failures: %v", bans)
	}
	bans := failN(t, j, clk, "198.18.0.1", 2*m)
	if len(bans) != 1 {
		t.Fatalf("third failure did not ban")
	}
	b := bans[0]
	want := Ban{Prefix: pfx("198.18.0.1/32"), Start: t0.Add(2 * m), End: t0.Add(2*m + time.Hour), Origin: OriginJail, Count: 1}
	if b != want {
		t.Fatalf("ban %+v, want %+v", b, want)
	}
	if u, ok := enf.until(want.Prefix); !ok || !u.Equal(want.End) {
		t.Fatalf("enforcer holds %v %v, want until %v", u, ok, want.End)
	}
	if s := j.Stats(); s.TotalFailed != 3 || s.TotalBanned != 1 || s.CurrentlyBanned != 1 || s.CurrentlyFailed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFindTimeBoundary(t *testing.T) {
	tests := []struct {
		name    string
		offsets []time.Duration
		ban     bool
	}{
		// fail2ban keeps a failure exactly findtime old (lastReset < t-findtime resets).
		{"oldest exactly findtime old counts", []time.Duration{0, 5 * m, 10 * m}, true},
		{"oldest findtime+1ns old does not", []time.Duration{0, 5 * m, 10*m + 1}, false},
		{"window slides over old failures", []time.Duration{0, 20 * m, 21 * m, 22 * m}, true},
		{"spread failures never ban", []time.Duration{0, 6 * m, 12 * m, 18 * m, 24 * m}, false},
		{"late line inside the window counts", []time.Duration{5 * m, 10 * m, 6 * m}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _, clk := newTestJail(t, testConfig())
			var bans []Ban
			latest := time.Duration(0)
			for _, off := range tt.offsets {
				latest = max(latest, off) // a late line arrives after newer ones
				clk.Set(t0.Add(latest))
				b, err := j.Fail(fail("198.18.0.2", t0.Add(off)))
				if err != nil {
					t.Fatal(err)
				}
				if b != nil {
					bans = append(bans, *b)
				}
			}
			if got := len(bans) == 1; got != tt.ban {
				t.Fatalf("banned=%v, want %v (%v)", got, tt.ban, bans)
			}
		})
	}
}

func TestRecordStartsOverAfterBan(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	if len(failN(t, j, clk, "198.18.0.3", 0, 1*m, 2*m)) != 1 {
		t.Fatal("no first ban")
	}
	clk.Set(t0.Add(2*m + time.Hour))
	if ended := j.Expire(); len(ended) != 1 {
		t.Fatalf("expire returned %v", ended)
	}
	// Two failures right after the ban must not ban again: the three
	// before it were used up by the first ban.
	at := 2*m + time.Hour
	if bans := failN(t, j, clk, "198.18.0.3", at, at+time.Second); len(bans) != 0 {
		t.Fatalf("old failures counted again: %v", bans)
	}
	if bans := failN(t, j, clk, "198.18.0.3", at+2*time.Second); len(bans) != 1 {
		t.Fatal("third new failure did not ban")
	}
}

func TestPermanentBan(t *testing.T) {
	cfg := testConfig()
	cfg.BanTime = -1
	j, enf, clk := newTestJail(t, cfg)
	bans := failN(t, j, clk, "2001:db8::5", 0, 0, 0)
	if len(bans) != 1 || !bans[0].Permanent() {
		t.Fatalf("want one permanent ban, got %v", bans)
	}
	if u, ok := enf.until(pfx("2001:db8::5/128")); !ok || !u.IsZero() {
		t.Fatalf("enforcer until %v %v, want zero", u, ok)
	}
	clk.Add(10 * 365 * 24 * time.Hour)
	if ended := j.Expire(); len(ended) != 0 {
		t.Fatalf("permanent ban expired: %v", ended)
	}
	if len(j.Bans()) != 1 {
		t.Fatal("permanent ban gone")
	}
}

func TestLateLineBansForWhatIsLeft(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	clk.Set(t0.Add(9 * m))
	var got *Ban
	for range 3 {
		b, err := j.Fail(fail("198.18.0.6", t0))
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			got = b
		}
	}
	if got == nil || !got.End.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ban %+v, want end at failure time + bantime", got)
	}
}

func TestLinesOlderThanFindTimeAreIgnored(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	clk.Set(t0.Add(10*m + 1))
	for range 5 {
		if b, _ := j.Fail(fail("198.18.0.7", t0)); b != nil {
			t.Fatalf("lines older than findtime banned: %+v", b)
		}
	}
	if s := j.Stats(); s.TotalFailed != 0 || s.CurrentlyFailed != 0 {
		t.Fatalf("old lines counted: %+v", s)
	}
}

func TestNoBanWhenItWouldAlreadyBeOver(t *testing.T) {
	cfg := testConfig()
	cfg.BanTime = 5 * m
	j, enf, clk := newTestJail(t, cfg)
	clk.Set(t0.Add(8 * m))
	for range 3 {
		if b, _ := j.Fail(fail("198.18.0.8", t0)); b != nil {
			t.Fatalf("ban that ended before now: %+v", b)
		}
	}
	if enf.bans != 0 {
		t.Fatal("enforcer called")
	}
}

func TestIgnoreIP(t *testing.T) {
	cfg := testConfig()
	cfg.IgnoreIP = []netip.Prefix{
		pfx("127.0.0.0/8"), pfx("::1/128"), pfx("10.1.0.0/16"), pfx("198.18.5.5/32"),
		pfx("2001:db8:aa::/48"), pfx("::ffff:192.0.2.0/120"),
	}
	tests := []struct {
		addr    string
		ignored bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"10.1.200.3", true},
		{"10.2.0.1", false},
		{"198.18.5.5", true},
		{"198.18.5.6", false},
		{"2001:db8:aa:1::7", true},
		{"2001:db8:ab::7", false},
		{"192.0.2.77", true},         // mapped CIDR in the config
		{"::ffff:10.1.0.1", true},    // mapped peer
		{"::ffff:198.18.5.6", false}, // mapped peer, not ignored
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			j, enf, clk := newTestJail(t, cfg)
			bans := failN(t, j, clk, tt.addr, 0, 0, 0, 0, 0)
			if got := len(bans) == 0; got != tt.ignored {
				t.Fatalf("ignored=%v, want %v (bans %v)", got, tt.ignored, bans)
			}
			if tt.ignored && (enf.bans != 0 || j.Stats().Ignored != 5) {
				t.Fatalf("enforcer bans %d, stats %+v", enf.bans, j.Stats())
			}
		})
	}
}

func TestIgnoreSelf(t *testing.T) {
	calls := 0
	cfg := testConfig()
	cfg.SelfAddrs = func() []netip.Addr {
		calls++
		return []netip.Addr{netip.MustParseAddr("198.18.9.1"), netip.MustParseAddr("2001:db8:9::1")}
	}
	j, _, clk := newTestJail(t, cfg)
	for _, a := range []string{"198.18.9.1", "2001:db8:9::1"} {
		if bans := failN(t, j, clk, a, 0, 0, 0, 0); len(bans) != 0 {
			t.Fatalf("own address %s banned", a)
		}
	}
	if bans := failN(t, j, clk, "198.18.9.2", 0, 0, 0); len(bans) != 1 {
		t.Fatal("neighbour of own address not banned")
	}
	if calls != 1 {
		t.Fatalf("SelfAddrs called %d times within a minute, want 1 (cached)", calls)
	}
	cfg.IgnoreSelf = false
	j, _, clk = newTestJail(t, cfg)
	if bans := failN(t, j, clk, "198.18.9.1", 0, 0, 0); len(bans) != 1 {
		t.Fatal("ignoreself off still ignored own address")
	}
}

func TestIPv6PrefixCounting(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	j, enf, clk := newTestJail(t, cfg)
	// Rotating inside one /64 is caught...
	failN(t, j, clk, "2001:db8:1:2::a", 0)
	failN(t, j, clk, "2001:db8:1:2:ffff::b", m)
	bans := failN(t, j, clk, "2001:db8:1:2:1234:5678:9abc:def0", 2*m)
	if len(bans) != 1 || bans[0].Prefix != pfx("2001:db8:1:2::/64") {
		t.Fatalf("want a /64 ban, got %v", bans)
	}
	if _, ok := enf.until(pfx("2001:db8:1:2::/64")); !ok {
		t.Fatal("enforcer lacks the /64")
	}
	// ...neighbouring /64s are counted apart...
	if bans := failN(t, j, clk, "2001:db8:1:3::a", 3*m); len(bans) != 0 {
		t.Fatal("different /64 shared the count")
	}
	// ...and IPv4 stays per address.
	failN(t, j, clk, "198.18.1.1", 0)
	failN(t, j, clk, "198.18.1.2", 0)
	if bans := failN(t, j, clk, "198.18.1.3", 0); len(bans) != 0 {
		t.Fatalf("IPv4 counted per prefix: %v", bans)
	}
}

// TestBanCoveringIgnoredAddressIsRefused: with --ipv6-prefix 64 the map
// can only hold the offender's /64; when that /64 holds an ignoreip
// address, no ban is made (the jail once banned the /128 while the map
// held the /64, dropping the partner). The refusal is counted and said,
// once per maxretry failures.
func TestBanCoveringIgnoredAddressIsRefused(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	cfg.IgnoreIP = []netip.Prefix{pfx("2001:db8:7::1/128")}
	j, enf, clk := newTestJail(t, cfg)
	failN(t, j, clk, "2001:db8:7::2", 0, 0)
	b, err := j.Fail(fail("2001:db8:7::2", t0))
	if b != nil || !errors.Is(err, ErrCoversIgnored) {
		t.Fatalf("third failure: ban %v, err %v; want a refusal", b, err)
	}
	if want := "ban 2001:db8:7::/64: refused: it covers an ignoreip address (2001:db8:7::1/128)"; err.Error() != want {
		t.Errorf("refusal says %q, want %q", err, want)
	}
	if len(enf.active) != 0 || len(j.Bans()) != 0 {
		t.Fatalf("enforcer %v, jail %v", enf.active, j.Bans())
	}
	// The count started over: two more failures are not refused again.
	failN(t, j, clk, "2001:db8:7::2", time.Second, time.Second)
	if s := j.Stats(); s.Refused != 1 || s.TotalBanned != 0 {
		t.Fatalf("stats %+v, want one refusal and no ban", s)
	}
	// A /64 without an ignored address is banned whole.
	if bans := failN(t, j, clk, "2001:db8:8::2", 2*time.Second, 2*time.Second, 2*time.Second); len(bans) != 1 || bans[0].Prefix != pfx("2001:db8:8::/64") {
		t.Fatalf("bans %v, want 2001:db8:8::/64", bans)
	}
}

// TestIgnoreSelfRefusesPrefixHoldingHost: the host's own address counts
// as ignored for the rule too.
func TestIgnoreSelfRefusesPrefixHoldingHost(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 48
	cfg.SelfAddrs = func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("2001:db8:9:1::1")} }
	j, _, _ := newTestJail(t, cfg)
	if _, err := j.BanManual(pfx("2001:db8:9:2::5/128"), time.Hour); !errors.Is(err, ErrCoversIgnored) || !strings.Contains(err.Error(), "ignoreself") {
		t.Fatalf("manual ban of a /48 holding the host: %v", err)
	}
}

func TestIncrementThroughHistoryAndDBPurgeAge(t *testing.T) {
	cfg := testConfig()
	cfg.Increment = true
	cfg.MaxRetry = 5 // high enough that retryWeight does not ban at once
	j, _, clk := newTestJail(t, cfg)
	ban := func(at time.Duration) Ban {
		t.Helper()
		for {
			bans := failN(t, j, clk, "198.18.2.1", at)
			if len(bans) == 1 {
				return bans[0]
			}
			at += time.Second
		}
	}
	want := []struct {
		count int
		d     time.Duration
	}{{1, time.Hour}, {2, 2 * time.Hour}, {3, 4 * time.Hour}}
	at := time.Duration(0)
	for _, w := range want {
		b := ban(at)
		if b.Count != w.count || b.End.Sub(b.Start) != w.d {
			t.Fatalf("ban %d lasts %v (count %d), want %v", w.count, b.End.Sub(b.Start), b.Count, w.d)
		}
		at = b.End.Sub(t0)
		clk.Set(b.End)
		j.Expire()
	}
	// After dbpurgeage without a ban, the count starts over.
	b := ban(at + 25*time.Hour)
	if b.Count != 1 || b.End.Sub(b.Start) != time.Hour {
		t.Fatalf("after dbpurgeage: count %d, %v", b.Count, b.End.Sub(b.Start))
	}
}

func TestKnownBadAddressCountsHarder(t *testing.T) {
	cfg := testConfig()
	cfg.Increment = true
	h := NewMemHistory()
	if err := h.RecordBan(Ban{Prefix: pfx("198.18.2.2/32"), Start: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	j, _, clk := newTestJail(t, cfg, WithHistory(h))
	// One earlier ban: each failure counts 2, so the second bans.
	if bans := failN(t, j, clk, "198.18.2.2", 0); len(bans) != 0 {
		t.Fatal("banned on the first failure")
	}
	bans := failN(t, j, clk, "198.18.2.2", m)
	if len(bans) != 1 || bans[0].Count != 2 || bans[0].End.Sub(bans[0].Start) != 2*time.Hour {
		t.Fatalf("got %v, want the second ban of 2h", bans)
	}
}

func TestMaxTrackedDropsOldest(t *testing.T) {
	cfg := testConfig()
	cfg.MaxTracked = 2
	j, _, clk := newTestJail(t, cfg)
	failN(t, j, clk, "198.18.3.1", 0, 0) // oldest
	failN(t, j, clk, "198.18.3.2", 0)
	failN(t, j, clk, "198.18.3.1", time.Second) // ...now .2 is the least recent: it would ban, but ->
	if s := j.Stats(); s.CurrentlyFailed != 1 {
		// .1 was banned by its third failure and left the failure records.
		t.Fatalf("stats %+v", s)
	}
	failN(t, j, clk, "198.18.3.3", time.Second)
	failN(t, j, clk, "198.18.3.4", time.Second) // drops .2, the least recently failing
	s := j.Stats()
	if s.CurrentlyFailed != 2 || s.DroppedTracked != 1 {
		t.Fatalf("stats %+v, want 2 tracked and 1 dropped", s)
	}
	// .2's failure was forgotten: two more do not ban it.
	if bans := failN(t, j, clk, "198.18.3.2", 2*time.Second, 2*time.Second); len(bans) != 0 {
		t.Fatal("dropped record still counted")
	}
}

func TestFailureRecordsExpireWithFindTime(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	for i := range 100 {
		failN(t, j, clk, netip.AddrFrom4([4]byte{198, 18, 4, byte(i)}).String(), 0)
	}
	if n := j.Stats().CurrentlyFailed; n != 100 {
		t.Fatalf("tracked %d", n)
	}
	clk.Set(t0.Add(10*m + 1))
	j.Expire()
	if n := j.Stats().CurrentlyFailed; n != 0 {
		t.Fatalf("%d records outlived findtime", n)
	}
}

func TestEnforcerErrorKeepsFailures(t *testing.T) {
	j, enf, clk := newTestJail(t, testConfig())
	enf.fail = errors.New("map full")
	failN(t, j, clk, "198.18.5.1", 0, 0)
	clk.Set(t0)
	if b, err := j.Fail(fail("198.18.5.1", t0)); err == nil || b != nil {
		t.Fatalf("want error and no ban, got %v, %v", b, err)
	}
	if len(j.Bans()) != 0 {
		t.Fatal("ban recorded though the enforcer failed")
	}
	if n := j.Stats().BanErrors; n != 1 {
		t.Errorf("BanErrors %d after one refused ban, want 1 (it feeds xdpban_jail_enforcer_errors_total)", n)
	}
	enf.fail = nil
	if bans := failN(t, j, clk, "198.18.5.1", time.Second); len(bans) != 1 {
		t.Fatal("next failure did not retry the ban")
	}
}

func TestHooksRunInOrder(t *testing.T) {
	var log []string
	var matched []event.Failure
	j, _, clk := newTestJail(t, testConfig(),
		WithOnBan(func(b Ban, fs []event.Failure) { log = append(log, "ban "+b.Prefix.String()); matched = fs }),
		WithOnUnban(func(b Ban) { log = append(log, "unban "+b.Prefix.String()) }))
	failN(t, j, clk, "198.18.6.1", 0, 0, 0)
	if len(matched) != 1 || matched[0].Addr != netip.MustParseAddr("198.18.6.1") {
		t.Fatalf("hook got failures %v", matched)
	}
	if err := j.Unban(pfx("198.18.6.1/32")); err != nil {
		t.Fatal(err)
	}
	if _, err := j.BanManual(pfx("198.18.6.0/24"), time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	j.Expire()
	want := []string{"ban 198.18.6.1/32", "unban 198.18.6.1/32", "ban 198.18.6.0/24", "unban 198.18.6.0/24"}
	if len(log) != len(want) {
		t.Fatalf("hooks %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("hooks %v, want %v", log, want)
		}
	}
}

func TestSlowHookDoesNotBlockCounting(t *testing.T) {
	release := make(chan struct{})
	inHook := make(chan struct{})
	j, _, _ := newTestJail(t, testConfig(), WithOnBan(func(b Ban, _ []event.Failure) {
		if b.Prefix == pfx("198.18.12.1/32") {
			close(inHook)
			<-release
		}
	}))
	go func() {
		for range 3 {
			j.Fail(fail("198.18.12.1", t0))
		}
	}()
	<-inHook
	// While that hook hangs, a second address is banned: its hook waits
	// its turn, but must not hold the jail's lock while it waits...
	go func() {
		for range 3 {
			j.Fail(fail("198.18.12.2", t0))
		}
	}()
	time.Sleep(50 * time.Millisecond)
	// ...so a third source goes on counting.
	done := make(chan *Ban)
	go func() {
		var last *Ban
		for range 2 {
			last, _ = j.Fail(fail("198.18.12.3", t0))
		}
		done <- last
	}()
	select {
	case b := <-done:
		if b != nil {
			t.Fatal("two failures banned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("failure counting blocked behind a waiting hook")
	}
	close(release)
	if b, _ := j.Fail(fail("198.18.12.3", t0)); b == nil {
		t.Fatal("third failure did not ban")
	}
}

// blockingHistory is a History whose RecordBan (the store's write and
// fsync, in the daemon) blocks until released.
type blockingHistory struct {
	*MemHistory
	entered chan netip.Prefix
	release chan struct{}
}

func (h *blockingHistory) RecordBan(b Ban) error {
	h.entered <- b.Prefix
	<-h.release
	return h.MemHistory.RecordBan(b)
}

// signalEnforcer tells on banned of every ban it holds.
type signalEnforcer struct {
	*fakeEnforcer
	banned chan netip.Prefix
}

func (e signalEnforcer) Ban(b Ban) (netip.Prefix, error) {
	ev, err := e.fakeEnforcer.Ban(b)
	if err == nil {
		e.banned <- b.Prefix
	}
	return ev, err
}

// TestMapBanDoesNotWaitForTheHistoryWrite: the enforcer (the XDP map) has
// a ban while its history write (the store) still blocks, and a second
// address's ban lands in the enforcer while the first's write blocks too:
// the store follows the map, off the ban path, and one slow write holds
// up no other ban.
func TestMapBanDoesNotWaitForTheHistoryWrite(t *testing.T) {
	h := &blockingHistory{MemHistory: NewMemHistory(), entered: make(chan netip.Prefix, 4), release: make(chan struct{})}
	enf := signalEnforcer{newEnforcer(), make(chan netip.Prefix, 4)}
	var hooked []netip.Prefix
	j, err := New(testConfig(), enf, WithHistory(h), WithOnBan(func(b Ban, _ []event.Failure) { hooked = append(hooked, b.Prefix) }))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *Ban, 2)
	banFrom := func(addr string) {
		var last *Ban
		for range 3 {
			last, _ = j.Fail(fail(addr, time.Time{}))
		}
		done <- last
	}

	go banFrom("198.18.13.1")
	if p := testutil.WaitFor(t, enf.banned, "map ban of the first address"); p != pfx("198.18.13.1/32") {
		t.Fatalf("banned %v", p)
	}
	if p := testutil.WaitFor(t, h.entered, "history write of the first ban"); p != pfx("198.18.13.1/32") {
		t.Fatalf("history write of %v", p)
	}
	// The first history write is blocked; a second address bans anyway.
	go banFrom("198.18.13.2")
	if p := testutil.WaitFor(t, enf.banned, "map ban of the second address while the first history write blocks"); p != pfx("198.18.13.2/32") {
		t.Fatalf("banned %v", p)
	}
	if s := j.Stats(); s.CurrentlyBanned != 2 {
		t.Fatalf("jail holds %d bans while the history write blocks, want 2", s.CurrentlyBanned)
	}
	select {
	case <-done:
		t.Fatal("a ban returned before its history was written")
	default:
	}

	// Released, both bans reach the history, in the order they were made.
	close(h.release)
	for range 2 {
		if b := testutil.WaitFor(t, done, "end of a banning failure"); b == nil {
			t.Fatal("the third failure did not ban")
		}
	}
	if p := testutil.WaitFor(t, h.entered, "history write of the second ban"); p != pfx("198.18.13.2/32") {
		t.Fatalf("history write of %v", p)
	}
	for _, p := range []netip.Prefix{pfx("198.18.13.1/32"), pfx("198.18.13.2/32")} {
		if n, _ := h.BanCount(p, time.Time{}); n != 1 {
			t.Errorf("history holds %d bans of %v, want 1", n, p)
		}
	}
	if len(hooked) != 2 || hooked[0] != pfx("198.18.13.1/32") || hooked[1] != pfx("198.18.13.2/32") {
		t.Errorf("ban hooks ran for %v, want the first address, then the second", hooked)
	}
}
