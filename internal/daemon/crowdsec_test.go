package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/crowdsec"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// snapshotServer answers /v1/decisions/stream with n ban decisions on
// distinct addresses, written as they go (as LAPI streams a large answer).
func snapshotServer(tb testing.TB, n int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"deleted":null,"new":[`)
		for i := range n {
			if i > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"duration":"3h59m58.5s","id":%d,"origin":"CAPI","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"10.%d.%d.%d"}`,
				i, byte(i>>16), byte(i>>8), byte(i))
		}
		io.WriteString(w, `]}`)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// csDaemon is a daemon with the real datapath, store and jail, and a
// CrowdSec link pulling from url.
func csDaemon(tb testing.TB, url string, maxBans uint32, ignore ...netip.Prefix) *daemon {
	return csDaemonV6(tb, url, maxBans, 128, ignore...)
}

func csDaemonV6(tb testing.TB, url string, maxBans uint32, v6prefix int, ignore ...netip.Prefix) *daemon {
	tb.Helper()
	testutil.RequireRoot(tb)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dp, err := xdp.Load(xdp.Config{PinDir: testutil.PinDir(tb), MaxBans: maxBans, IPv6Prefix: v6prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dp.Abandon() })
	d := &daemon{o: Options{StateDir: tb.TempDir(), Jail: jail.DefaultConfig()}, log: log, dp: dp}
	d.o.Jail.IgnoreSelf = false
	d.o.Jail.IgnoreIP = ignore
	d.o.Jail.IPv6Prefix = v6prefix
	d.metrics = d.newMetrics()
	if d.store, _, err = state.Open(d.o.StateDir); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.store.Close() })
	d.set = banset.New(dp.BanMap(), d.store, log, nil)
	d.hooks = newHooks("", "", time.Second, log)
	if d.jail, err = jail.New(d.o.Jail, d.set, jail.WithHistory(d.set), jail.WithOnBan(d.afterBan), jail.WithOnUnban(d.afterUnban)); err != nil {
		tb.Fatal(err)
	}
	d.cs = &csLink{d: d, url: url, renewed: map[prefixKey]time.Time{}}
	if d.cs.puller, err = crowdsec.NewPuller(crowdsec.PullConfig{URL: url, Key: "k", Snapshot: d.cs.snapshotApplied}, d.cs); err != nil {
		tb.Fatal(err)
	}
	return d
}

// BenchmarkCrowdSecSnapshot100k measures a startup snapshot of 100,000
// decisions from the first byte to every ban in the jail, the XDP map
// and the store. Issue target: at most 2 s.
func BenchmarkCrowdSecSnapshot100k(b *testing.B) {
	const n = 100_000
	srv := snapshotServer(b, n)
	for b.Loop() {
		b.StopTimer()
		d := csDaemon(b, srv.URL, n+1000)
		b.StartTimer()
		start := time.Now()
		if err := d.cs.puller.PullOnce(context.Background(), true); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		if c, _ := d.dp.Count(); c != n {
			b.Fatalf("%d bans in the map, want %d", c, n)
		}
		stored, err := d.store.ActiveBans()
		if err != nil || len(stored) != n {
			b.Fatalf("%d bans in the store (%v), want %d", len(stored), err, n)
		}
		b.ReportMetric(took.Seconds(), "s/snapshot")
		b.StartTimer()
	}
}

// A decision that touches ignoreip is skipped and counted; the rest are in
// the map, the jail (origin crowdsec) and the store; a second snapshot
// that lacks one lifts it, and bans of other origins stay.
func TestCrowdSecSnapshotIntoDatapath(t *testing.T) {
	decisions := `{"duration":"1h","id":1,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"198.18.7.2"},` +
		`{"duration":"1h","id":2,"origin":"cscli","scenario":"s","scope":"Range","type":"ban","value":"198.18.8.0/24"},` +
		`{"duration":"1h","id":3,"origin":"cscli","scenario":"s","scope":"Range","type":"ban","value":"198.18.9.0/24"}`
	body := `{"deleted":null,"new":[` + decisions + `]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	d := csDaemon(t, srv.URL, 1024, netip.MustParsePrefix("198.18.9.9/32"))
	if _, err := d.jail.BanManual(netip.MustParsePrefix("198.18.5.5/32"), time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.cs.puller.PullOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	origins := func() map[string]string {
		m := map[string]string{}
		for _, b := range d.jail.Bans() {
			m[b.Prefix.String()] = string(b.Origin)
		}
		return m
	}
	want := map[string]string{"198.18.7.2/32": "crowdsec", "198.18.8.0/24": "crowdsec", "198.18.5.5/32": "manual"}
	if got := origins(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("jail bans %v, want %v", got, want)
	}
	if c, _ := d.dp.Count(); c != 3 {
		t.Errorf("%d entries in the maps, want 3", c)
	}
	if s := d.cs.status(); s.Applied != 2 || s.Skipped["ignoreip"] != 1 {
		t.Errorf("status %+v, want 2 applied and 1 skipped by ignoreip", s)
	}
	stored, _ := d.store.ActiveBans()
	if len(stored) != 3 {
		t.Errorf("store holds %v", stored)
	}

	// LAPI lost the range while we were away: the next snapshot lifts it.
	body = `{"deleted":null,"new":[` + decisions[:len(decisions)-len(`,{"duration":"1h","id":2,"origin":"cscli","scenario":"s","scope":"Range","type":"ban","value":"198.18.8.0/24"},{"duration":"1h","id":3,"origin":"cscli","scenario":"s","scope":"Range","type":"ban","value":"198.18.9.0/24"}`)] + `]}`
	if err := d.cs.puller.PullOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"198.18.7.2/32": "crowdsec", "198.18.5.5/32": "manual"}
	if got := origins(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a snapshot without the range: %v, want %v", got, want)
	}
	if c, _ := d.dp.Count(); c != 2 {
		t.Errorf("%d entries in the maps after the range was lifted, want 2", c)
	}
	// An unban (here: through the operator) leaves nothing behind in the link.
	if err := d.jail.Unban(netip.MustParsePrefix("198.18.7.2/32")); err != nil {
		t.Fatal(err)
	}
	d.cs.mu.Lock()
	left := len(d.cs.renewed)
	d.cs.mu.Unlock()
	if left != 0 {
		t.Errorf("the link still remembers %d crowdsec bans after all were lifted", left)
	}
}

// With --ipv6-prefix 64 an IPv6 decision bans its /64, as the jail would:
// the jail's record and the map's key agree, and the deletion lifts it.
func TestCrowdSecIPv6DecisionWidensToBanPrefix(t *testing.T) {
	body := `{"new":[{"duration":"1h","id":1,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"2001:db8:1:2::5"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	d := csDaemonV6(t, srv.URL, 1024, 64)
	ctx := context.Background()
	if err := d.cs.puller.PullOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	if ps := d.jail.PrefixesOf(jail.OriginCrowdSec); len(ps) != 1 || ps[0] != netip.MustParsePrefix("2001:db8:1:2::/64") {
		t.Fatalf("jail holds %v, want 2001:db8:1:2::/64", ps)
	}
	bans, _ := d.dp.List()
	if len(bans) != 1 || bans[0].Prefix != netip.MustParsePrefix("2001:db8:1:2::/64") {
		t.Fatalf("map holds %v", bans)
	}
	body = `{"deleted":[{"duration":"-1s","id":1,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"2001:db8:1:2::5"}],"new":null}`
	if err := d.cs.puller.PullOnce(ctx, false); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.dp.Count(); c != 0 || len(d.jail.Bans()) != 0 {
		t.Errorf("after the deletion: %d in the map, jail %v", c, d.jail.Bans())
	}
}
