package daemon

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// These tests pin the order of a ban's steps: the map write first, then
// the store, the log line and the hooks, none of which it waits for. Each
// blocks one later step and requires the map ban to land regardless; the
// steps' speed is not tested.

// mapEnforcer stands in for the XDP map: it tells on banned of each ban.
type mapEnforcer struct{ banned chan netip.Prefix }

func (e mapEnforcer) Ban(b jail.Ban) (netip.Prefix, error) {
	e.banned <- b.Prefix
	return netip.Prefix{}, nil
}
func (e mapEnforcer) Unban(netip.Prefix) error { return nil }

// blockingStore stands in for the ban set's store as the jail's history:
// its RecordBan (a bbolt transaction and fsync) blocks until released.
type blockingStore struct {
	*jail.MemHistory
	entered chan netip.Prefix
	release chan struct{}
}

func (s *blockingStore) RecordBan(b jail.Ban) error {
	s.entered <- b.Prefix
	<-s.release
	return s.MemHistory.RecordBan(b)
}

// blockingLog is a fail2ban log whose write(2) blocks until released.
type blockingLog struct {
	entered chan string
	release chan struct{}
	mu      sync.Mutex
	lines   []string
}

func (l *blockingLog) Line(f event.Failure) string { return f2blog.Format(f, f2blog.TimeEnd) }
func (l *blockingLog) Path() string                { return "blocking.log" }
func (l *blockingLog) Reopen() error               { return nil }
func (l *blockingLog) Close() error                { return nil }

func (l *blockingLog) WriteLine(s string) error {
	l.entered <- s
	<-l.release
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	return nil
}

// pathDaemon wires a daemon as startJail does, with enf for the map, h
// for the store and flog (may be nil) for the fail2ban log.
func pathDaemon(t *testing.T, enf jail.Enforcer, h jail.History, flog failureLog) *daemon {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &daemon{o: Options{Jail: jail.DefaultConfig()}, log: log, writer: flog}
	d.o.Jail.MaxRetry = 3
	d.o.Jail.IgnoreSelf = false
	d.metrics = d.newMetrics()
	d.hooks = newHooks("", "", time.Second, log)
	var err error
	d.jail, err = jail.New(d.o.Jail, enf, jail.WithHistory(h), jail.WithOnBan(d.afterBan))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func failureFrom(addr string) event.Failure {
	return event.Failure{Addr: netip.MustParseAddr(addr), Time: time.Now(), Code: 167772359,
		Message: "peer did not return a certificate", Source: "listener"}
}

// TestBanLandsWhileTheStoreWriteBlocks: with the store's write of a ban
// hanging, the ban is in the map, and a second address's ban lands in the
// map as well; released, the store gets both.
func TestBanLandsWhileTheStoreWriteBlocks(t *testing.T) {
	enf := mapEnforcer{make(chan netip.Prefix, 4)}
	store := &blockingStore{jail.NewMemHistory(), make(chan netip.Prefix, 4), make(chan struct{})}
	d := pathDaemon(t, enf, store, nil)
	done := make(chan struct{}, 2)
	attack := func(addr string) {
		for range 3 {
			d.onFailure(failureFrom(addr))
		}
		done <- struct{}{}
	}

	go attack("198.18.21.1")
	if p := testutil.WaitFor(t, enf.banned, "map ban"); p != netip.MustParsePrefix("198.18.21.1/32") {
		t.Fatalf("map ban of %v", p)
	}
	if p := testutil.WaitFor(t, store.entered, "store write"); p != netip.MustParsePrefix("198.18.21.1/32") {
		t.Fatalf("store write of %v", p)
	}
	go attack("198.18.21.2")
	if p := testutil.WaitFor(t, enf.banned, "second map ban while the first store write hangs"); p != netip.MustParsePrefix("198.18.21.2/32") {
		t.Fatalf("map ban of %v", p)
	}

	close(store.release)
	testutil.WaitFor(t, done, "first attacker's failures handled")
	testutil.WaitFor(t, done, "second attacker's failures handled")
	for _, a := range []string{"198.18.21.1/32", "198.18.21.2/32"} {
		if n, _ := store.BanCount(netip.MustParsePrefix(a), time.Time{}); n != 1 {
			t.Errorf("store holds %d bans of %s, want 1", n, a)
		}
	}
}

// TestBanLandsWhileTheLogWriteBlocks: the fail2ban log's write(2) can
// sleep (dirty page throttling, the journal); with every write hanging,
// three failures, each on its own goroutine as the listener runs them,
// still ban. Released, all three lines are written.
func TestBanLandsWhileTheLogWriteBlocks(t *testing.T) {
	enf := mapEnforcer{make(chan netip.Prefix, 4)}
	store := &blockingStore{jail.NewMemHistory(), make(chan netip.Prefix, 4), make(chan struct{})}
	close(store.release)
	flog := &blockingLog{entered: make(chan string, 4), release: make(chan struct{})}
	d := pathDaemon(t, enf, store, flog)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { d.onFailure(failureFrom("198.18.22.1")) })
	}
	if p := testutil.WaitFor(t, enf.banned, "map ban while the log writes hang"); p != netip.MustParsePrefix("198.18.22.1/32") {
		t.Fatalf("map ban of %v", p)
	}
	close(flog.release)
	wg.Wait()
	if len(flog.lines) != 3 {
		t.Fatalf("%d lines written, want 3: %q", len(flog.lines), flog.lines)
	}
	for _, l := range flog.lines {
		if !strings.Contains(l, "during connect try from 198.18.22.1: ") {
			t.Errorf("line %q", l)
		}
	}
}

// TestFailuresAreLoggedAndBanned: with the real log writer, every failure
// is written and the third bans.
func TestFailuresAreLoggedAndBanned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tls.log")
	w, err := f2blog.OpenWriter(path, f2blog.TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	enf := mapEnforcer{make(chan netip.Prefix, 4)}
	store := &blockingStore{jail.NewMemHistory(), make(chan netip.Prefix, 4), make(chan struct{})}
	close(store.release)
	d := pathDaemon(t, enf, store, w)
	for range 3 {
		d.onFailure(failureFrom("198.18.23.1"))
	}
	if p := testutil.WaitFor(t, enf.banned, "map ban"); p != netip.MustParsePrefix("198.18.23.1/32") {
		t.Fatalf("map ban of %v", p)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 || !strings.Contains(lines[2], "from 198.18.23.1: ") {
		t.Errorf("log:\n%s\nwant the three failures", b)
	}
}

// TestRestartAdoptsABanTheStoreMissed: the store is written after the
// map, so a crash between the two leaves a ban in the pinned map only. The
// next start adopts it with the end the kernel enforces, and stores it.
func TestRestartAdoptsABanTheStoreMissed(t *testing.T) {
	testutil.RequireRoot(t)
	pin, dir := testutil.PinDir(t), t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := netip.MustParsePrefix("198.18.24.1/32")
	end := time.Now().Add(time.Hour).Truncate(time.Second)

	// The run that crashed: its ban reached the map, not the store.
	dp, err := xdp.Load(xdp.Config{PinDir: pin, MaxBans: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.BanMap().Ban(p, end); err != nil {
		t.Fatal(err)
	}
	dp.Close()

	// The restart, wired as startJail does.
	if dp, err = xdp.Load(xdp.Config{PinDir: pin, MaxBans: 1000}); err != nil {
		t.Fatal(err)
	}
	defer dp.Abandon()
	d := &daemon{o: Options{StateDir: dir, Jail: jail.DefaultConfig()}, log: log, dp: dp}
	d.o.Jail.IgnoreSelf = false
	d.metrics = d.newMetrics()
	if d.store, _, err = state.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer d.store.Close()
	d.set = banset.New(dp.BanMap(), d.store, log, nil)
	if d.jail, err = jail.New(d.o.Jail, d.set, jail.WithHistory(d.set)); err != nil {
		t.Fatal(err)
	}
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}

	bans := d.jail.Bans()
	if len(bans) != 1 || bans[0].Prefix != p || bans[0].End.Sub(end).Abs() > time.Millisecond {
		t.Fatalf("jail after restart: %+v, want %v until %v", bans, p, end)
	}
	stored, err := d.store.ActiveBans()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Prefix != p || stored[0].End.Sub(end).Abs() > time.Millisecond {
		t.Fatalf("store after restart: %+v, want %v until %v", stored, p, end)
	}
	if m, err := dp.List(); err != nil || len(m) != 1 || m[0].Prefix != p {
		t.Fatalf("map after restart: %+v, %v", m, err)
	}
}
