package xdp

import (
	"net/netip"
	"testing"
	"time"
)

// TestGetFindsExactlyThePrefix: Get answers for the entry of exactly the
// prefix asked, address, IPv6 prefix or range, as Entries lists it, and
// not for an entry that merely holds it.
func TestGetFindsExactlyThePrefix(t *testing.T) {
	d := loadTest(t, Config{IPv6Prefix: 64})
	bans := d.BanMap()
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	banned := []string{"198.18.5.1/32", "2001:db8:1:2::/64", "198.18.0.0/16", "2001:db8:9::/48"}
	for _, s := range banned {
		if err := bans.Ban(netip.MustParsePrefix(s), until); err != nil {
			t.Fatalf("ban %s: %v", s, err)
		}
	}
	entries, err := bans.Maps().Entries()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[netip.Prefix]Ban{}
	for _, e := range entries {
		listed[e.Prefix] = e
	}
	for _, s := range banned {
		p := netip.MustParsePrefix(s)
		got, ok, err := bans.Maps().Get(p)
		if err != nil || !ok || got.Prefix != p || got.Until.Sub(listed[p].Until).Abs() > time.Millisecond || got.Expired {
			t.Errorf("Get(%s) = %+v, %v, %v; want the listed entry %+v", s, got, ok, err, listed[p])
		}
	}
	for _, s := range []string{"198.18.5.2/32", "198.18.7.0/24", "198.0.0.0/8", "2001:db8:9:1::/64", "2001:db8:1:3::/64"} {
		if got, ok, err := bans.Maps().Get(netip.MustParsePrefix(s)); err != nil || ok {
			t.Errorf("Get(%s) = %+v, %v, %v; want no entry of its own", s, got, ok, err)
		}
	}
}
