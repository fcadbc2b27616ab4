package jail

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

func TestBanManual(t *testing.T) {
	cfg := testConfig()
	cfg.IgnoreIP = []netip.Prefix{pfx("198.18.7.0/24")}
	tests := []struct {
		name   string
		prefix string
		d      time.Duration
		want   Ban
	}{
		{"zero duration is bantime", "198.18.8.1/32", 0,
			Ban{Prefix: pfx("198.18.8.1/32"), Start: t0, End: t0.Add(time.Hour), Origin: OriginManual, Count: 1}},
		{"negative is permanent", "2001:db8::/48", -1,
			Ban{Prefix: pfx("2001:db8::/48"), Start: t0, Origin: OriginManual, Count: 1}},
		{"prefix is masked, mapped is unmapped", "::ffff:198.18.8.9/120", time.Minute,
			Ban{Prefix: pfx("198.18.8.0/24"), Start: t0, End: t0.Add(time.Minute), Origin: OriginManual, Count: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, enf, _ := newTestJail(t, cfg)
			b, err := j.BanManual(pfx(tt.prefix), tt.d)
			if err != nil || b != tt.want {
				t.Fatalf("got %+v, %v; want %+v", b, err, tt.want)
			}
			if u, ok := enf.until(tt.want.Prefix); !ok || !u.Equal(tt.want.End) {
				t.Fatalf("enforcer %v %v", u, ok)
			}
		})
	}
}

// TestBanManualFollowsTheRule: a manual ban is the prefix the map
// enforces, and is refused when that prefix covers an ignored address.
func TestBanManualFollowsTheRule(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	cfg.IgnoreIP = []netip.Prefix{pfx("198.18.7.0/24"), pfx("2001:db8:50::2/128")}
	j, enf, _ := newTestJail(t, cfg)
	for _, p := range []string{"198.18.7.7/32", "::ffff:198.18.7.8/128", "2001:db8:50::66/128", "2001:db8:50::/64", "2001:db8::/32"} {
		if b, err := j.BanManual(pfx(p), time.Hour); !errors.Is(err, ErrCoversIgnored) {
			t.Errorf("manual ban of %s: %+v, %v; want refused", p, b, err)
		}
	}
	if len(enf.active) != 0 || j.Stats().Refused != 5 {
		t.Fatalf("enforcer %v, stats %+v", enf.active, j.Stats())
	}
	b, err := j.BanManual(pfx("2001:db8:60::66/128"), time.Hour)
	if err != nil || b.Prefix != pfx("2001:db8:60::/64") {
		t.Fatalf("manual ban of one IPv6 address: %+v, %v; want its /64", b, err)
	}
	if _, ok := enf.until(pfx("2001:db8:60::/64")); !ok {
		t.Fatalf("enforcer holds %v", enf.active)
	}
}

func TestBanManualReplacesAndResetsFailures(t *testing.T) {
	j, enf, clk := newTestJail(t, testConfig())
	failN(t, j, clk, "198.18.8.2", 0, 0)
	if _, err := j.BanManual(pfx("198.18.8.2/32"), time.Minute); err != nil {
		t.Fatal(err)
	}
	b, err := j.BanManual(pfx("198.18.8.2/32"), time.Hour)
	if err != nil || !b.End.Equal(t0.Add(time.Hour)) {
		t.Fatalf("replace: %+v %v", b, err)
	}
	if n := len(j.Bans()); n != 1 {
		t.Fatalf("%d bans for one prefix", n)
	}
	if s := j.Stats(); s.TotalBanned != 1 || s.CurrentlyFailed != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := j.Unban(pfx("198.18.8.2/32")); err != nil {
		t.Fatal(err)
	}
	if _, ok := enf.until(pfx("198.18.8.2/32")); ok {
		t.Fatal("still in the enforcer")
	}
	// The two failures before the manual ban were forgotten.
	if bans := failN(t, j, clk, "198.18.8.2", time.Second); len(bans) != 0 {
		t.Fatal("failures before the manual ban still counted")
	}
}

func TestUnban(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	j, enf, clk := newTestJail(t, cfg)
	if err := j.Unban(pfx("198.18.9.9/32")); !errors.Is(err, ErrNotBanned) {
		t.Fatalf("unban of nothing: %v", err)
	}
	failN(t, j, clk, "2001:db8:5::1", 0, 0, 0)
	// The user names the address from the log; the /64 holding it goes.
	if err := j.Unban(pfx("2001:db8:5::77/128")); err != nil {
		t.Fatal(err)
	}
	if len(j.Bans()) != 0 || enf.unbans != 1 {
		t.Fatalf("bans %v, enforcer unbans %d", j.Bans(), enf.unbans)
	}
}

func TestAdopt(t *testing.T) {
	var hooked int
	j, enf, clk := newTestJail(t, testConfig(), WithOnBan(func(Ban, []event.Failure) { hooked++ }))
	clk.Set(t0.Add(30 * time.Minute))
	saved := []Ban{
		{Prefix: pfx("198.18.10.1/32"), Start: t0, End: t0.Add(time.Hour), Origin: OriginJail, Count: 1},
		{Prefix: pfx("10.1.1.2/32"), Start: t0, End: t0.Add(time.Hour), Origin: OriginManual, Count: 1},
		{Prefix: pfx("::ffff:198.18.10.3/128"), Start: t0, End: t0.Add(50 * time.Minute), Origin: OriginJail, Count: 2},
		{Prefix: pfx("2001:db8::/64"), Start: t0, Origin: OriginRestored, Count: 3}, // permanent
	}
	j.Adopt(saved)
	got := j.Bans()
	mapped := saved[2]
	mapped.Prefix = pfx("198.18.10.3/32")
	want := []Ban{mapped, saved[1], saved[0], saved[3]} // by End, then prefix; permanent last
	if len(got) != len(want) {
		t.Fatalf("bans %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ban %d: %+v, want %+v (remaining time kept)", i, got[i], want[i])
		}
	}
	if enf.bans != 0 || hooked != 0 {
		t.Fatalf("adopting called the enforcer %d times and the hook %d times, want neither", enf.bans, hooked)
	}
	// A failure of an adopted address does not ban it twice.
	if bans := failN(t, j, clk, "198.18.10.1", 30*time.Minute, 30*time.Minute, 30*time.Minute); len(bans) != 0 {
		t.Fatalf("double ban %v", bans)
	}
}

// TestRefuser: the snapshot of the ignore rule refuses what CheckBan
// refuses, on the prefix the map enforces, and counts each refusal.
func TestRefuser(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	cfg.IgnoreIP = []netip.Prefix{pfx("10.0.0.0/8"), pfx("2001:db8:50::2/128")}
	j, _, _ := newTestJail(t, cfg)
	refuses := j.Refuser()
	n := 0
	for p, want := range map[string]bool{
		"10.1.1.1/32": true, "::ffff:10.1.1.1/128": true, "2001:db8:50::/64": true,
		"2001:db8:50::66/128": true, // its /64 holds the ignored address
		"198.18.10.1/32":      false, "2001:db8:51::/64": false,
	} {
		err := refuses(pfx(p))
		if (err != nil) != want || (err != nil && !errors.Is(err, ErrCoversIgnored)) {
			t.Errorf("Refuser()(%s) = %v, want refused %v", p, err, want)
		}
		if want {
			n++
		}
	}
	if s := j.Stats(); s.Refused != uint64(n) {
		t.Errorf("Refused %d, want %d", s.Refused, n)
	}
}

func TestExpireAndBansOrder(t *testing.T) {
	j, enf, clk := newTestJail(t, testConfig())
	mustBan := func(p string, d time.Duration) {
		if _, err := j.BanManual(pfx(p), d); err != nil {
			t.Fatal(err)
		}
	}
	mustBan("198.18.11.3/32", -1)
	mustBan("198.18.11.1/32", 3*time.Minute)
	mustBan("198.18.11.2/32", time.Minute)
	got := j.Bans()
	order := []string{"198.18.11.2/32", "198.18.11.1/32", "198.18.11.3/32"}
	for i, p := range order {
		if got[i].Prefix != pfx(p) {
			t.Fatalf("order %v, want %v", got, order)
		}
	}
	clk.Add(2 * time.Minute)
	ended := j.Expire()
	if len(ended) != 1 || ended[0].Prefix != pfx("198.18.11.2/32") {
		t.Fatalf("expired %v", ended)
	}
	if _, ok := enf.until(pfx("198.18.11.2/32")); ok {
		t.Fatal("expired ban left in the enforcer")
	}
	if len(j.Bans()) != 2 || j.Stats().CurrentlyBanned != 2 {
		t.Fatalf("bans %v", j.Bans())
	}
}
