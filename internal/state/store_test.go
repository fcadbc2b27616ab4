package state

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

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
		if err := s.SaveBans([]jail.Ban{b}); err != nil {
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
		if err := s.PutBan(jail.Ban{Prefix: p, Start: t0.Add(time.Duration(h) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Recording the same ban twice counts once.
	if err := s.PutBan(jail.Ban{Prefix: p, Start: t0}); err != nil {
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
	if err := s.PutBan(jail.Ban{Prefix: pfx("198.18.2.2/32"), Start: t0}); err != nil {
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
