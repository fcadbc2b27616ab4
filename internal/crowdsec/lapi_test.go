package crowdsec

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// recordSink remembers what the stream handed over, in order.
type recordSink struct {
	mu    sync.Mutex
	calls []string // "del 1.2.3.4/32", "add 198.18.8.0/24 ..."
	added map[netip.Prefix]Decision
}

func newRecordSink() *recordSink { return &recordSink{added: map[netip.Prefix]Decision{}} }

func (s *recordSink) DeleteDecisions(_ context.Context, ds []Decision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.calls = append(s.calls, "del "+d.Prefix.String())
		delete(s.added, d.Prefix)
	}
	return nil
}

func (s *recordSink) ApplyDecisions(_ context.Context, ds []Decision) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.calls = append(s.calls, "add "+d.Prefix.String())
		s.added[d.Prefix] = d
	}
	return nil
}

func (s *recordSink) snapshot() (map[netip.Prefix]Decision, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[netip.Prefix]Decision{}
	for k, v := range s.added {
		m[k] = v
	}
	return m, slices.Clone(s.calls)
}

func startLAPI(t *testing.T) *testutil.LAPI {
	t.Helper()
	if err := testutil.NeedCrowdSec(); err != nil {
		t.Fatal(err)
	}
	return testutil.StartLAPI(t, "", "")
}

func cscli(t *testing.T, l *testutil.LAPI, args ...string) {
	t.Helper()
	if _, err := l.Cscli(args...); err != nil {
		t.Fatal(err)
	}
}

func TestPullSnapshotThenDeltas(t *testing.T) {
	l := startLAPI(t)
	key := l.AddBouncer(t, "gw1")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.2", "-d", "1h")
	cscli(t, l, "decisions", "add", "-r", "198.18.8.0/24", "-d", "2h")
	cscli(t, l, "decisions", "add", "-r", "2001:db8:1::/64", "-d", "2h")
	cscli(t, l, "decisions", "add", "-i", "::ffff:198.18.9.9", "-d", "1h")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.3", "-d", "1h", "-t", "captcha")

	sink := newRecordSink()
	p, err := NewPuller(PullConfig{URL: l.URL, Key: key}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.PullOnce(ctx, true); err != nil {
		t.Fatal(err)
	}
	got, _ := sink.snapshot()
	want := []string{"198.18.7.2/32", "198.18.8.0/24", "2001:db8:1::/64", "198.18.9.9/32"}
	if len(got) != len(want) {
		t.Fatalf("snapshot applied %v, want %v", got, want)
	}
	for _, w := range want {
		d, ok := got[netip.MustParsePrefix(w)]
		if !ok {
			t.Fatalf("snapshot lacks %s: %v", w, got)
		}
		if d.Duration <= 50*time.Minute || d.Duration > 2*time.Hour || d.Origin != "cscli" {
			t.Errorf("%s: duration %s origin %q", w, d.Duration, d.Origin)
		}
	}
	st := p.Stats()
	if !st.Reachable || st.LastPull.IsZero() || st.Applied != 4 || st.Skipped[SkipType] != 1 {
		t.Errorf("stats after the snapshot: %+v", st)
	}

	cscli(t, l, "decisions", "delete", "-r", "198.18.8.0/24")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.4", "-d", "30m")
	if err := p.PullOnce(ctx, false); err != nil {
		t.Fatal(err)
	}
	got, calls := sink.snapshot()
	if _, ok := got[netip.MustParsePrefix("198.18.8.0/24")]; ok {
		t.Errorf("the deleted range is still applied; calls %v", calls)
	}
	if d, ok := got[netip.MustParsePrefix("198.18.7.4/32")]; !ok || d.Duration > 30*time.Minute {
		t.Errorf("the delta's new decision: %+v, %v", d, ok)
	}
	if st := p.Stats(); st.Deleted != 1 || st.Applied != 5 {
		t.Errorf("stats after the delta: %+v", st)
	}
}

func TestPullFilterByOriginScenarioScope(t *testing.T) {
	l := startLAPI(t)
	key := l.AddBouncer(t, "gw1")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.2", "-d", "1h", "-R", "crowdsecurity/ssh-bf")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.5", "-d", "1h", "-R", "xdpban/oftp2-tls")
	cscli(t, l, "decisions", "add", "-r", "198.18.8.0/24", "-d", "1h", "-R", "xdpban/oftp2-tls")

	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"scenario containing", Filter{ScenariosContaining: []string{"OFTP2"}}, []string{"198.18.7.5/32", "198.18.8.0/24"}},
		{"scenario not containing", Filter{ScenariosNotContaining: []string{"oftp2"}}, []string{"198.18.7.2/32"}},
		{"scope ip", Filter{Scopes: []string{"ip"}}, []string{"198.18.7.2/32", "198.18.7.5/32"}},
		{"origin", Filter{Origins: []string{"crowdsec"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newRecordSink()
			p, err := NewPuller(PullConfig{URL: l.URL, Key: key, Filter: tc.filter}, sink)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.PullOnce(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			got, _ := sink.snapshot()
			var keys []string
			for k := range got {
				keys = append(keys, k.String())
			}
			slices.Sort(keys)
			if strings.Join(keys, " ") != strings.Join(tc.want, " ") {
				t.Errorf("applied %v, want %v", keys, tc.want)
			}
		})
	}
}

// While LAPI is down nothing reaches the sink (so no ban is lifted), and
// once it is back the puller reconciles with a fresh snapshot.
func TestPullRetriesAndResnapshotsWithoutFlushing(t *testing.T) {
	l := startLAPI(t)
	key := l.AddBouncer(t, "gw1")
	cscli(t, l, "decisions", "add", "-i", "198.18.7.2", "-d", "1h")

	sink := newRecordSink()
	snapshots := make(chan time.Time, 16)
	p, err := NewPuller(PullConfig{URL: l.URL, Key: key, Interval: 100 * time.Millisecond,
		Snapshot: func(_ context.Context, sent time.Time) error { snapshots <- sent; return nil }}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.WaitFor(t, snapshots, "first snapshot")

	l.Stop()
	deadline := time.Now().Add(testutil.HangGuard)
	for p.Stats().Reachable {
		if time.Now().After(deadline) {
			t.Fatal("puller still reports LAPI reachable after it stopped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, before := sink.snapshot()
	for _, c := range before {
		if strings.HasPrefix(c, "del") {
			t.Fatalf("a deletion reached the sink while LAPI was down: %v", before)
		}
	}
	// Drain snapshots until one was sent after LAPI came back. The time
	// is taken before the start: the puller may take its snapshot before
	// anything after the start (a cscli call) returns, and there is no
	// snapshot after that one.
	back := time.Now()
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	for sent := testutil.WaitFor(t, snapshots, "snapshot after LAPI came back"); sent.Before(back); {
		sent = testutil.WaitFor(t, snapshots, "snapshot after LAPI came back")
	}
	// A decision made now comes with a delta after that snapshot.
	cscli(t, l, "decisions", "add", "-i", "198.18.7.9", "-d", "1h")
	want := []netip.Prefix{netip.MustParsePrefix("198.18.7.2/32"), netip.MustParsePrefix("198.18.7.9/32")}
	for deadline := time.Now().Add(testutil.HangGuard); ; time.Sleep(20 * time.Millisecond) {
		got, calls := sink.snapshot()
		missing := slices.DeleteFunc(slices.Clone(want), func(p netip.Prefix) bool { _, ok := got[p]; return ok })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after LAPI came back %v not applied; calls %v", missing, calls)
		}
	}
}
