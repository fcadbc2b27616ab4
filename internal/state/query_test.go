package state

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// TestRuntimeIgnoreIPPersists: entries of `xdpban ignore add` survive
// closing the store (a restart), and del forgets them once.
func TestRuntimeIgnoreIPPersists(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	if got, err := s.IgnoreIP(); err != nil || len(got) != 0 {
		t.Fatalf("a fresh store: %v, %v", got, err)
	}
	for _, p := range []string{"198.18.0.0/24", "2001:db8::/64", "198.18.0.0/24"} {
		if err := s.AddIgnoreIP(pfx(p)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openT(t, dir)
	got, err := s.IgnoreIP()
	want := []netip.Prefix{pfx("198.18.0.0/24"), pfx("2001:db8::/64")}
	slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("after reopening: %v, %v; want %v", got, err, want)
	}
	if found, err := s.DelIgnoreIP(pfx("198.18.0.0/24")); !found || err != nil {
		t.Fatalf("del: %v %v", found, err)
	}
	if found, _ := s.DelIgnoreIP(pfx("198.18.0.0/24")); found {
		t.Error("a second del found the entry again")
	}
}

func TestHistoryOfAnAddress(t *testing.T) {
	s := openT(t, t.TempDir())
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, b := range []jail.Ban{
		{Prefix: pfx("198.18.0.2/32"), Start: t0, End: t0.Add(time.Minute), Origin: jail.OriginJail, Count: 1},
		{Prefix: pfx("198.18.0.2/32"), Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Origin: jail.OriginJail, Count: 2},
		{Prefix: pfx("198.18.0.3/32"), Start: t0, Origin: jail.OriginManual, Count: 1},
		{Prefix: pfx("2001:db8::/64"), Start: t0, Origin: jail.OriginManual, Count: 1},
	} {
		if err := s.PutBan(b); err != nil {
			t.Fatalf("ban %d: %v", i, err)
		}
	}
	h, err := s.History(netip.MustParseAddr("198.18.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Starts) != 2 || !h.Starts[0].Start.Equal(t0) || !h.Starts[1].Start.Equal(t0.Add(time.Hour)) {
		t.Errorf("starts %+v; want two, oldest first", h.Starts)
	}
	if len(h.Stored) != 1 || h.Stored[0].Count != 2 {
		t.Errorf("stored %+v; want the latest ban", h.Stored)
	}
	if h, _ := s.History(netip.MustParseAddr("2001:db8::77")); len(h.Starts) != 1 || h.Starts[0].Prefix != pfx("2001:db8::/64") {
		t.Errorf("an address in a banned /64: %+v", h)
	}
}
