package banset

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// TestManualBanAndUnbanPersistAcrossRestart: manual bans come back after
// a restart and after a reboot with the ends they had; an unbanned one
// stays unbanned, and the ban history survives. One of an ignored address
// is refused.
func TestManualBanAndUnbanPersistAcrossRestart(t *testing.T) {
	l := newLab(t)
	if _, err := l.jail.BanManual(pfx("198.18.99.5/32"), time.Hour); !errors.Is(err, jail.ErrCoversIgnored) {
		t.Fatalf("manual ban of an ignored address: %v, want a refusal", err)
	}
	kept, v6 := pfx("198.18.43.5/32"), pfx("2001:db8:3::/64")
	first, err := l.jail.BanManual(kept, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.jail.BanManual(v6, -1); err != nil {
		t.Fatal(err)
	}
	for _, restart := range []func(){func() { l.close(); l.open() }, l.reboot} {
		restart()
		bans := l.jail.Bans()
		if len(bans) != 2 || bans[0].Prefix != kept || bans[0].End.Sub(first.End).Abs() > time.Millisecond || bans[1].Prefix != v6 || !bans[1].Permanent() {
			t.Fatalf("after restart: %+v", bans)
		}
		if err := l.check(); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.jail.Unban(v6); err != nil {
		t.Fatal(err)
	}
	l.close()
	l.open()
	stored, err := l.store.ActiveBans()
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Prefix != kept {
		t.Fatalf("store after unban and restart: %+v", stored)
	}
	if n, _ := l.store.BanCount(kept, time.Now().Add(-time.Hour)); n != 1 {
		t.Fatalf("history count %d, want 1", n)
	}
	if bans := l.jail.Bans(); len(bans) != 1 || bans[0].Prefix != kept {
		t.Fatalf("jail after unban and restart: %+v", bans)
	}
}

// TestFullMapEvictsTheSoonestEnd: a ban into a full map evicts the ban
// that ends soonest, never a permanent one, and the jail lets it go.
func TestFullMapEvictsTheSoonestEnd(t *testing.T) {
	l := newLab(t)
	for i := range modelMaxBans {
		d := time.Duration(-1)
		if i == 3 {
			d = time.Minute
		} else if i%2 == 0 {
			d = time.Hour
		}
		if _, err := l.jail.BanManual(netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 42, byte(i)}), 32), d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.jail.BanManual(pfx("198.18.42.200/32"), time.Hour); err != nil {
		t.Fatalf("ban into a full map: %v", err)
	}
	if l.evicted != 1 {
		t.Fatalf("%d evicted, want 1", l.evicted)
	}
	for _, b := range l.jail.Bans() {
		if b.Prefix == pfx("198.18.42.3/32") {
			t.Fatal("the ban ending soonest was not evicted")
		}
	}
	if err := l.check(); err != nil {
		t.Fatal(err)
	}
}
