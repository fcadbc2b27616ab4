package state

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// TestImportBansCarriesCounts: an imported ban's count becomes that many
// recorded bans, so bantime.increment goes on from it; importing the
// same bans twice counts them once.
func TestImportBansCarriesCounts(t *testing.T) {
	s := openT(t, t.TempDir())
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	bans := []jail.Ban{
		{Prefix: pfx("198.18.0.2/32"), Start: t0, End: t0.Add(time.Hour), Origin: "fail2ban", Count: 3},
		{Prefix: pfx("2001:db8::/64"), Start: t0, Origin: "imported", Count: 1},
	}
	for range 2 {
		if err := s.ImportBans(bans); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.BanCount(pfx("198.18.0.2/32"), t0.Add(-time.Hour)); err != nil || n != 3 {
		t.Errorf("ban count %d, %v; want 3", n, err)
	}
	stored, err := s.ActiveBans()
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %v, %v", stored, err)
	}
	for _, b := range stored {
		if b.Prefix == pfx("198.18.0.2/32") && (b.Count != 3 || !b.End.Equal(t0.Add(time.Hour)) || b.Origin != "fail2ban") {
			t.Errorf("stored %+v", b)
		}
	}
}

// TestImportBansConcurrent: concurrent imports (the chunks of one
// xdpban import) share transactions; every call returns once its own
// bans are stored, and none is lost or counted twice.
func TestImportBansConcurrent(t *testing.T) {
	s := openT(t, t.TempDir())
	t0 := time.Now().Truncate(time.Second)
	const calls, per = 16, 500
	errs := make(chan error, calls)
	for c := range calls {
		go func() {
			bans := make([]jail.Ban, per)
			for i := range bans {
				a := netip.AddrFrom4([4]byte{198, 18, byte(c), byte(i % 250)})
				bans[i] = jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, End: t0.Add(time.Hour), Origin: "imported", Count: 2}
			}
			errs <- s.ImportBans(bans)
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	stored, err := s.ActiveBans()
	if err != nil || len(stored) != calls*250 {
		t.Fatalf("stored %d bans (%v), want %d", len(stored), err, calls*250)
	}
	if n, err := s.BanCount(pfx("198.18.7.9/32"), t0.Add(-time.Hour)); err != nil || n != 2 {
		t.Errorf("ban count %d, %v; want 2 (each prefix came twice in one call)", n, err)
	}
}
