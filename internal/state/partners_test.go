package state

import (
	"net/netip"
	"testing"
	"time"
)

// TestPartnersSurviveReopen: the known partners saved are the ones read
// back after the store is closed and opened again; a save replaces.
func TestPartnersSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Partners(); err != nil || len(got) != 0 {
		t.Fatalf("fresh store partners %v %v", got, err)
	}
	t0 := time.Unix(1700000000, 123)
	v4, v6 := netip.MustParseAddr("198.18.0.7"), netip.MustParseAddr("2001:db8::7")
	if err := s.SavePartners(map[netip.Addr]time.Time{v4: t0, netip.MustParseAddr("198.18.0.8"): t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePartners(map[netip.Addr]time.Time{v4: t0, v6: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Partners()
	if err != nil || len(got) != 2 || !got[v4].Equal(t0) || !got[v6].Equal(t0.Add(time.Second)) {
		t.Fatalf("partners after reopen: %v %v", got, err)
	}
}
