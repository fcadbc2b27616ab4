package state

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, w, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w != nil {
		t.Fatalf("unexpected warning: %v", w)
	}
	return s
}

func TestBansRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	bans := []jail.Ban{
		{Prefix: pfx("198.18.0.1/32"), Start: t0, End: t0.Add(time.Hour), Origin: jail.OriginJail, Count: 3},
		{Prefix: pfx("2001:db8::/64"), Start: t0, Origin: jail.OriginManual, Count: 1}, // permanent
		{Prefix: pfx("198.18.1.0/24"), Start: t0, End: t0.Add(time.Minute), Origin: jail.OriginRestored, Count: 1},
	}
	for _, b := range bans[:2] {
		if err := s.SaveBan(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveBans(bans[2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBan(pfx("198.18.1.0/24")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBan(pfx("198.18.99.0/24")); err != nil {
		t.Fatalf("deleting an absent ban: %v", err)
	}
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	got, err := s.ActiveBans()
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Prefix]jail.Ban{bans[0].Prefix: bans[0], bans[1].Prefix: bans[1]}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, b := range got {
		if w := want[b.Prefix]; b.Prefix != w.Prefix || !b.Start.Equal(w.Start) || !b.End.Equal(w.End) ||
			b.Origin != w.Origin || b.Count != w.Count || b.Permanent() != w.Permanent() {
			t.Fatalf("read %+v, saved %+v", b, w)
		}
	}
}

func TestOpenLockedByAnotherOpener(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	_, _, err := Open(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, FileName)); statErr != nil {
		t.Fatalf("locked file was moved: %v", statErr)
	}
}

func TestHistoryCountAndPurge(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	p := pfx("198.18.2.1/32")
	for _, h := range []int{0, 5, 20, 30} {
		if err := s.RecordBan(jail.Ban{Prefix: p, Start: t0.Add(time.Duration(h) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Recording the same ban twice counts once.
	if err := s.RecordBan(jail.Ban{Prefix: p, Start: t0}); err != nil {
		t.Fatal(err)
	}
	count := func(since time.Time) int {
		n, err := s.BanCount(p, since)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(t0); n != 4 {
		t.Fatalf("all: %d", n)
	}
	if n := count(t0.Add(5 * time.Hour)); n != 3 {
		t.Fatalf("since the second (inclusive): %d", n)
	}
	if n, _ := s.BanCount(pfx("198.18.2.2/32"), t0); n != 0 {
		t.Fatalf("unknown prefix: %d", n)
	}
	if err := s.RecordBan(jail.Ban{Prefix: pfx("198.18.2.2/32"), Start: t0}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeHistory(t0.Add(6 * time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("purged %d, %v; want 3", n, err)
	}
	if got := count(t0); got != 2 {
		t.Fatalf("after purge: %d", got)
	}
	if n, _ := s.BanCount(pfx("198.18.2.2/32"), time.Time{}); n != 0 {
		t.Fatalf("fully purged prefix still counts %d", n)
	}
}

// fakeKernel is an enforcer standing in for the pinned map.
type fakeKernel map[netip.Prefix]time.Time

func (k fakeKernel) Ban(p netip.Prefix, until time.Time) error { k[p] = until; return nil }
func (k fakeKernel) Unban(p netip.Prefix) error                { delete(k, p); return nil }

// newPersistentJail wires a jail to s the way the daemon does.
func newPersistentJail(t *testing.T, s *Store, now *time.Time, kernel fakeKernel) *jail.Jail {
	t.Helper()
	cfg := jail.DefaultConfig()
	cfg.SelfAddrs = func() []netip.Addr { return nil }
	cfg.Increment = true
	j, err := jail.New(cfg, kernel,
		jail.WithClock(func() time.Time { return *now }),
		jail.WithHistory(s),
		jail.WithOnBan(func(b jail.Ban, _ []event.Failure) {
			if err := s.SaveBan(b); err != nil {
				t.Error(err)
			}
		}),
		jail.WithOnUnban(func(b jail.Ban) {
			if err := s.DeleteBan(b.Prefix); err != nil {
				t.Error(err)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestManualBanAndUnbanPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	now := t0
	kernel := fakeKernel{}
	s := openT(t, dir)
	j := newPersistentJail(t, s, &now, kernel)
	// Two manual bans, one timed, one permanent.
	if _, err := j.BanManual(pfx("198.18.4.5/32"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := j.BanManual(pfx("198.18.3.0/24"), -1); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Restart 30 minutes later: both come back, the first with 30 minutes left.
	now = t0.Add(30 * time.Minute)
	s = openT(t, dir)
	j = newPersistentJail(t, s, &now, kernel)
	stored, err := s.ActiveBans()
	if err != nil {
		t.Fatal(err)
	}
	keep, _ := Reconcile(stored, kernelBans(kernel), false, now)
	if r, d, err := j.Restore(keep); r != 2 || d != 0 || err != nil {
		t.Fatalf("restored %d dropped %d err %v", r, d, err)
	}
	bans := j.Bans()
	if len(bans) != 2 || bans[0].End.Sub(now) != 30*time.Minute || !bans[1].Permanent() {
		t.Fatalf("after restart: %+v", bans)
	}
	// Unban, restart: it stays unbanned, and is not resurrected.
	if err := j.Unban(pfx("198.18.3.0/24")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	stored, _ = s.ActiveBans()
	if len(stored) != 1 || stored[0].Prefix != pfx("198.18.4.5/32") {
		t.Fatalf("store after unban: %+v", stored)
	}
	// The history survived too: the next ban of 198.18.4.5 is its second.
	if n, _ := s.BanCount(pfx("198.18.4.5/32"), t0.Add(-time.Hour)); n != 1 {
		t.Fatalf("history count %d", n)
	}
}

func kernelBans(k fakeKernel) []jail.Ban {
	var out []jail.Ban
	for p, until := range k {
		out = append(out, jail.Ban{Prefix: p, End: until})
	}
	return out
}

func TestIgnoreListRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadIgnore(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no file yet: %v", err)
	}
	want := Ignore{IgnoreIP: []netip.Prefix{netip.MustParsePrefix("2001:db8:50::2/128"), netip.MustParsePrefix("127.0.0.0/8")}, IgnoreSelf: true}
	if err := SaveIgnore(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadIgnore(dir)
	if err != nil || !slices.Equal(got.IgnoreIP, want.IgnoreIP) || got.IgnoreSelf != want.IgnoreSelf {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, IgnoreFileName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIgnore(dir); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a broken file must be an error of its own: %v", err)
	}
}
