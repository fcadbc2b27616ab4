package jail

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStatsCountOnlyBansInForce: between a ban's end and the next Expire,
// Stats and Bans agree (the status summary printed "Currently banned: 1"
// next to an empty list until the sweep).
func TestStatsCountOnlyBansInForce(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	if _, err := j.BanManual(pfx("198.18.0.2/32"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := j.BanManual(pfx("198.18.0.3/32"), time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute) // the first has ended; Expire has not run
	if got, list := j.Stats().CurrentlyBanned, j.Bans(); got != len(list) || got != 1 {
		t.Errorf("CurrentlyBanned %d next to %d bans listed; want 1 and 1", got, len(list))
	}
}

func TestCoveringAndFailures(t *testing.T) {
	cfg := testConfig()
	cfg.IPv6Prefix = 64
	j, _, clk := newTestJail(t, cfg)
	failN(t, j, clk, "2001:db8::1", 0, time.Second)
	if n := j.Failures(netip.MustParseAddr("2001:db8::99")); n != 2 {
		t.Errorf("Failures of an address in the same /64: %d, want 2", n)
	}
	clk.Add(cfg.FindTime + time.Second)
	if n := j.Failures(netip.MustParseAddr("2001:db8::1")); n != 0 {
		t.Errorf("Failures after findtime: %d, want 0", n)
	}
	if _, err := j.BanManual(pfx("2001:db8:0:1::/64"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, ok := j.Covering(netip.MustParseAddr("2001:db8:0:1::7")); !ok || b.Prefix != pfx("2001:db8:0:1::/64") {
		t.Errorf("Covering an address in a banned /64: %v %v", b, ok)
	}
	if _, ok := j.Covering(netip.MustParseAddr("2001:db8:0:2::7")); ok {
		t.Error("Covering an address outside every ban")
	}
}

// TestAddIgnoreNamesTheBansItCovers: the caller lifts them; failures of
// the address are ignored from then on, and DelIgnore undoes it.
func TestAddIgnoreNamesTheBansItCovers(t *testing.T) {
	j, _, clk := newTestJail(t, testConfig())
	for _, p := range []string{"198.18.1.1/32", "198.18.1.2/32", "198.18.2.1/32"} {
		if _, err := j.BanManual(pfx(p), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	added, covered := j.AddIgnore(pfx("198.18.1.0/24"))
	if !added || !slices.Equal(covered, []netip.Prefix{pfx("198.18.1.1/32"), pfx("198.18.1.2/32")}) {
		t.Fatalf("AddIgnore: %v %v", added, covered)
	}
	if again, _ := j.AddIgnore(pfx("198.18.1.0/24")); again {
		t.Error("a second AddIgnore of the same prefix added it again")
	}
	if !slices.Contains(j.IgnoreIP(), pfx("198.18.1.0/24")) {
		t.Errorf("IgnoreIP %v lacks the new entry", j.IgnoreIP())
	}
	before := j.Stats().Ignored
	failN(t, j, clk, "198.18.1.9", 0)
	if j.Stats().Ignored != before+1 {
		t.Error("a failure of a newly ignored address was counted")
	}
	if !j.DelIgnore(pfx("198.18.1.0/24")) || j.DelIgnore(pfx("198.18.1.0/24")) {
		t.Error("DelIgnore must remove the entry once")
	}
	if slices.Contains(j.IgnoreIP(), pfx("198.18.1.0/24")) {
		t.Error("IgnoreIP still holds the deleted entry")
	}
}

// TestReconfigure: a reload's settings apply to what follows, name the
// bans ignoreip now covers, and a bad config changes nothing.
func TestReconfigure(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRetry = 5
	j, _, clk := newTestJail(t, cfg)
	if _, err := j.BanManual(pfx("198.18.1.1/32"), time.Hour); err != nil {
		t.Fatal(err)
	}
	bad := cfg
	bad.MaxRetry = 0
	if _, err := j.Reconfigure(bad); err == nil {
		t.Fatal("Reconfigure took maxretry 0")
	}
	next := cfg
	next.MaxRetry = 2
	next.IgnoreIP = []netip.Prefix{pfx("198.18.1.0/24")}
	lift, err := j.Reconfigure(next)
	if err != nil || !slices.Equal(lift, []netip.Prefix{pfx("198.18.1.1/32")}) {
		t.Fatalf("Reconfigure: %v, %v", lift, err)
	}
	if bans := failN(t, j, clk, "198.18.2.1", 0, time.Second); len(bans) != 1 {
		t.Errorf("maxretry 2 after the reload: %d bans from 2 failures", len(bans))
	}
	v6 := next
	v6.IPv6Prefix = 64
	if _, err := j.Reconfigure(v6); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("an ipv6-prefix change: %v; want refused with a restart named", err)
	}
}
