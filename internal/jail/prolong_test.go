package jail

import (
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// TestFailuresWhileBannedCountAsInFail2ban: failures of a banned address
// count. maxretry of them extend the ban to last failure + bantime (no ban
// hook, no new ban count); fewer stay counted and ban after the unban.
func TestFailuresWhileBannedCountAsInFail2ban(t *testing.T) {
	var hooks, prolongs []Ban
	j, enf, clk := newTestJail(t, testConfig(), // maxretry 3, findtime 10m, bantime 1h
		WithOnBan(func(b Ban, _ []event.Failure) { hooks = append(hooks, b) }),
		WithOnProlong(func(b Ban) { prolongs = append(prolongs, b) }))
	const a = "198.18.0.4"
	p := pfx(a + "/32")
	failN(t, j, clk, a, 0, 0, 0)

	// Two while banned: no change, but counted.
	if bans := failN(t, j, clk, a, 10*m, 12*m); len(bans) != 0 {
		t.Fatalf("ban while banned: %v", bans)
	}
	if s := j.Stats(); s.CurrentlyFailed != 1 || s.TotalFailed != 5 {
		t.Fatalf("failures while banned not counted: %+v", s)
	}
	// The third within findtime: the ban now ends at that failure + 1h.
	failN(t, j, clk, a, 14*m)
	want := t0.Add(14*m + time.Hour)
	if u, _ := enf.until(p); !u.Equal(want) {
		t.Fatalf("enforcer end %v, want %v (last failure + bantime)", u, want)
	}
	if bs := j.Bans(); len(bs) != 1 || !bs[0].End.Equal(want) || bs[0].Count != 1 {
		t.Fatalf("bans %+v, want one, count 1, ending %v", bs, want)
	}
	if s := j.Stats(); len(hooks) != 1 || s.TotalBanned != 1 || len(prolongs) != 1 || !prolongs[0].End.Equal(want) {
		t.Fatalf("prolonging ran the ban hook or counted a ban: hooks %d, total %d, prolongs %v", len(hooks), s.TotalBanned, prolongs)
	}

	// Two more shortly before the end, then the ban ends: the third after
	// it bans at once.
	failN(t, j, clk, a, 70*m, 72*m)
	clk.Set(want)
	if ended := j.Expire(); len(ended) != 1 {
		t.Fatalf("ban did not end at %v: %v", want, ended)
	}
	if bans := failN(t, j, clk, a, 75*m); len(bans) != 1 {
		t.Fatalf("failures counted while banned did not count after the unban: %v", bans)
	}
}

// TestProlongNeverShortens: a ban ending later than last failure +
// bantime (a long manual ban) is kept as it is.
func TestProlongNeverShortens(t *testing.T) {
	j, enf, clk := newTestJail(t, testConfig())
	const a = "198.18.0.5"
	if _, err := j.BanManual(pfx(a+"/32"), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	failN(t, j, clk, a, 0, m, 2*m)
	if u, _ := enf.until(pfx(a + "/32")); !u.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("long ban changed to %v", u)
	}
	if enf.bans != 1 {
		t.Fatalf("enforcer called %d times", enf.bans)
	}
}

// TestBanManualOnABannedPrefixProlongs: `xdpban ban` on a prefix in force
// (fail2ban's actionprolong) sets the later end without counting a new
// ban, and keeps a ban that already ends later or never.
func TestBanManualOnABannedPrefixProlongs(t *testing.T) {
	var hooks, prolongs int
	j, enf, clk := newTestJail(t, testConfig(),
		WithOnBan(func(Ban, []event.Failure) { hooks++ }),
		WithOnProlong(func(Ban) { prolongs++ }))
	p := pfx("198.18.0.6/32")
	failN(t, j, clk, "198.18.0.6", 0, 0, 0) // ends t0+1h
	clk.Add(10 * m)
	b, err := j.BanManual(p, 2*time.Hour)
	if want := t0.Add(10*m + 2*time.Hour); err != nil || !b.End.Equal(want) || b.Count != 1 || b.Origin != OriginJail {
		t.Fatalf("prolong: %+v %v, want the jail's ban ending %v", b, err, want)
	}
	if u, _ := enf.until(p); !u.Equal(b.End) {
		t.Fatalf("enforcer end %v, want %v", u, b.End)
	}
	if s := j.Stats(); hooks != 1 || prolongs != 1 || s.TotalBanned != 1 {
		t.Fatalf("hooks %d, prolongs %d, total banned %d; want 1, 1, 1", hooks, prolongs, s.TotalBanned)
	}
	kept, err := j.BanManual(p, time.Minute)
	if err != nil || !kept.End.Equal(b.End) || prolongs != 1 {
		t.Fatalf("a shorter ban replaced a longer one: %+v %v", kept, err)
	}
	if _, err := j.BanManual(p, -1); err != nil {
		t.Fatal(err)
	}
	if kept, _ := j.BanManual(p, time.Hour); !kept.Permanent() {
		t.Fatalf("permanent ban shortened to %v", kept.End)
	}
}
