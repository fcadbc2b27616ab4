package crowdsec

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// pulled returns what a fresh bouncer sees on LAPI now.
func pulled(t *testing.T, url, key string) map[netip.Prefix]Decision {
	t.Helper()
	sink := newRecordSink()
	p, err := NewPuller(PullConfig{URL: url, Key: key}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.PullOnce(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	got, _ := sink.snapshot()
	return got
}

func TestPushBanAndUnban(t *testing.T) {
	l := startLAPI(t)
	key := l.AddBouncer(t, "reader")
	pw := l.AddMachine(t, "gw1")
	p, err := NewPusher(PushConfig{URL: l.URL, Machine: "gw1", Password: pw + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	p.Ban(netip.MustParsePrefix("198.18.7.2/32"), now.Add(time.Hour), now, 3)
	p.Ban(netip.MustParsePrefix("198.18.8.0/24"), now.Add(2*time.Hour), now, 1)
	p.Ban(netip.MustParsePrefix("2001:db8::7/128"), time.Time{}, now, 3)
	p.Ban(netip.MustParsePrefix("198.18.9.0/24"), now.Add(time.Hour), now, 1)
	p.Ban(netip.MustParsePrefix("198.18.7.3/32"), now.Add(-time.Second), now, 3) // ended while queued
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := pulled(t, l.URL, key)
	if len(got) != 4 {
		t.Fatalf("LAPI holds %v, want the four bans in force", got)
	}
	for pfx, lo := range map[string]time.Duration{"198.18.7.2/32": 59 * time.Minute, "198.18.8.0/24": 119 * time.Minute, "2001:db8::7/128": 365 * 24 * time.Hour} {
		d, ok := got[netip.MustParsePrefix(pfx)]
		if !ok || d.Origin != Origin || d.Scenario != Scenario || d.Type != "ban" || d.Duration < lo {
			t.Errorf("%s on LAPI: %+v (present %v), want origin %s, scenario %s, at least %s", pfx, d, ok, Origin, Scenario, lo)
		}
	}
	if st := p.Stats(); st.Sent != 5 || st.Failed != 0 || st.Pending != 0 || st.LastPush.IsZero() {
		t.Errorf("stats: %+v", st)
	}

	// An expired JWT is renewed: LAPI answers 401, the pusher logs in again.
	p.w.token = "expired.jwt.token"
	p.Unban(netip.MustParsePrefix("198.18.8.0/24"))
	p.Unban(netip.MustParsePrefix("198.18.7.2/32"))
	// An address inside a banned range: the range stays.
	p.Unban(netip.MustParsePrefix("198.18.9.1/32"))
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got = pulled(t, l.URL, key)
	for _, w := range []string{"2001:db8::7/128", "198.18.9.0/24"} {
		if _, ok := got[netip.MustParsePrefix(w)]; !ok || len(got) != 2 {
			t.Fatalf("after the unbans LAPI holds %v, want only 2001:db8::7 and 198.18.9.0/24", got)
		}
	}
}

// Pushes that fail while LAPI is down stay queued, bounded, survive a
// restart through the store, and reach LAPI once it is back.
func TestPushQueueSurvivesRestart(t *testing.T) {
	l := startLAPI(t)
	key := l.AddBouncer(t, "reader")
	pw := l.AddMachine(t, "gw1")
	l.Stop()
	store := FileQueue(filepath.Join(t.TempDir(), "crowdsec-queue.json"))
	cfg := PushConfig{URL: l.URL, Machine: "gw1", Password: pw, Store: store, MaxQueue: 3}
	p, err := NewPusher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 1; i <= 5; i++ {
		p.Ban(netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 7, byte(i)}), 32), now.Add(time.Hour), now, 3)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Failed == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no failed push while LAPI is down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	st := p.Stats()
	if st.Pending != 3 || st.Dropped != 2 || st.Sent != 0 {
		t.Fatalf("queue while LAPI is down: %+v, want 3 pending (the newest) and 2 dropped", st)
	}

	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	p2, err := NewPusher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := p2.Stats().Pending; n != 3 {
		t.Fatalf("a restarted pusher loaded %d pushes, want 3", n)
	}
	if err := p2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := pulled(t, l.URL, key)
	for i := 3; i <= 5; i++ {
		if _, ok := got[netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 7, byte(i)}), 32)]; !ok {
			t.Errorf("198.18.7.%d did not reach LAPI after the restart: %v", i, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("LAPI holds %v, want the three newest", got)
	}
}
