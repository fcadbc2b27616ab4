package xdp

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// hitMargin keeps checks off the instant a ban ends: the program's clock
// is the tick, which a loaded machine delivers late (never early).
const hitMargin = 100 * time.Millisecond

// cachedDrops sums the drops the hit cache holds for p on every CPU, not
// yet added to the ban map: more than zero proves a run hit the cache.
func cachedDrops(t *testing.T, m *Maps, p netip.Prefix) uint64 {
	t.Helper()
	k, err := keyFor(p, m.ipv6Prefix)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for slot := range uint32(hitSlots) {
		var perCPU []xdpbanHitEntry
		if err := m.hits.Lookup(slot, &perCPU); err != nil {
			t.Fatal(err)
		}
		for _, e := range perCPU {
			if e.Key == k {
				n += e.Packets
			}
		}
	}
	return n
}

// rawBan reads p's entry in the ban map as the kernel holds it.
func rawBan(t *testing.T, m *Maps, p netip.Prefix) (xdpbanBanValue, bool) {
	t.Helper()
	k, err := keyFor(p, m.ipv6Prefix)
	if err != nil {
		t.Fatal(err)
	}
	var v xdpbanBanValue
	if err := m.bans.Lookup(&k, &v); err != nil {
		return v, false
	}
	return v, true
}

// listed returns p's ban as List shows it (pending drops added).
func listed(t *testing.T, m *Maps, p netip.Prefix) Ban {
	t.Helper()
	bans, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bans {
		if b.Prefix == p {
			return b
		}
	}
	t.Fatalf("%v is not listed: %+v", p, bans)
	return Ban{}
}

// waitVerdict runs pkt until the program gives want, for at most a second
// after end (plus the margin): a ban ends up to a few ticks late.
func waitVerdict(t *testing.T, d *Datapath, pkt []byte, want uint32, end time.Time, what string) {
	t.Helper()
	time.Sleep(time.Until(end.Add(hitMargin)))
	deadline := end.Add(hitMargin + time.Second)
	for {
		v := run(t, d.prog, pkt)
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: verdict %d a second after %v, want %d", what, v, end, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHitCacheFollowsEveryWrite runs a banned source twice on one CPU, so
// that the second run is served from that CPU's cache, and then changes
// the ban every way xdpban does: the next packet on that CPU must see the
// change. The cache is trusted for an hour here, so only the generation
// (or the ban's own end) can make an entry stale in time. A second ban in
// the same filter slot keeps the filter from answering first.
func TestHitCacheFollowsEveryWrite(t *testing.T) {
	d := loadTest(t, Config{HitTTL: time.Hour})
	bm := d.BanMap()
	a, neighbour := collidingPair(t, d.filter)
	if err := bm.Ban(neighbour, time.Time{}); err != nil {
		t.Fatal(err)
	}
	pkt := tcpTo(a.Addr(), server6, 6619).build()
	ban := func(until time.Time) {
		t.Helper()
		if err := bm.Ban(a, until); err != nil {
			t.Fatal(err)
		}
	}
	testutil.OnOneCPU(t, func() {
		twice := func(want uint32, what string) {
			t.Helper()
			for i := range 2 {
				if v := run(t, d.prog, pkt); v != want {
					t.Fatalf("%s, run %d on one CPU: verdict %d, want %d", what, i+1, v, want)
				}
			}
		}

		ban(time.Time{})
		twice(xdpDrop, "banned for good")
		if cachedDrops(t, d.Maps, a) == 0 {
			t.Fatal("the second run of a banned source did not hit the cache")
		}

		if err := bm.Unban(a); err != nil {
			t.Fatal(err)
		}
		twice(xdpPass, "unbanned")

		ban(time.Now().Add(time.Hour))
		twice(xdpDrop, "banned again")
		// A new, shorter end, and no packet until it has passed: the entry
		// cached with the old end must not be trusted.
		end := time.Now().Add(300 * time.Millisecond)
		ban(end)
		waitVerdict(t, d, pkt, xdpPass, end, "ban shortened while cached")
		twice(xdpPass, "after the shortened end")

		// Ended in the kernel: the entry ends with the ban.
		before := counters(t, d.Maps)
		end = time.Now().Add(2 * time.Second)
		ban(end)
		for range 2 {
			if v := run(t, d.prog, pkt); v != xdpDrop && time.Now().Before(end.Add(-hitMargin)) {
				t.Fatalf("ban ending in 2 s: verdict %d, want drop", v)
			}
		}
		waitVerdict(t, d, pkt, xdpPass, end, "ban ended in the kernel while cached")
		if delta := sub(counters(t, d.Maps), before); delta.Expired != 1 {
			t.Errorf("expired hits %d after the ban ended, want 1", delta.Expired)
		}
		if _, ok := rawBan(t, d.Maps, a); ok {
			t.Error("the program left the ended ban in the map")
		}

	})
}

// TestHitCacheBoundsWritesAroundXdpban: a ban deleted with bpftool bumps
// no generation (nor counts out of the filter: a second ban in the slot
// stands for that), so a CPU that cached it keeps dropping for at most
// the cache's time to live (plus a tick), then passes.
func TestHitCacheBoundsWritesAroundXdpban(t *testing.T) {
	d := loadTest(t, Config{})
	a, neighbour := collidingPair(t, d.filter)
	pkt := tcpTo(a.Addr(), server6, 6619).build()
	for _, p := range []netip.Prefix{a, neighbour} {
		if err := d.BanMap().Ban(p, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := keyFor(a, 128)
	hex := make([]string, len(k.Addr))
	for i, b := range k.Addr {
		hex[i] = fmt.Sprintf("%02x", b)
	}
	testutil.OnOneCPU(t, func() {
		for range 2 {
			if v := run(t, d.prog, pkt); v != xdpDrop {
				t.Fatalf("banned: verdict %d, want drop", v)
			}
		}
		if cachedDrops(t, d.Maps, a) == 0 {
			t.Fatal("the second run did not hit the cache")
		}
		args := append([]string{"map", "delete", "pinned", filepath.Join(d.PinDir(), xdpbanMapXdpbanBans), "key", "hex"}, hex...)
		if out, err := exec.Command("bpftool", args...).CombinedOutput(); err != nil {
			t.Fatalf("bpftool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		waitVerdict(t, d, pkt, xdpPass, time.Now().Add(DefaultHitTTL), "ban deleted with bpftool")
	})
}

// TestHitCacheCountsExactly: drops served from the cache count for their
// ban, in List at once (pending ones added) and in the map once the entry
// is filled again or replaced; a ban made anew starts from zero.
func TestHitCacheCountsExactly(t *testing.T) {
	d := loadTest(t, Config{HitTTL: time.Hour})
	bm := d.BanMap()
	a := netip.PrefixFrom(banned4, 32)
	pkt := tcpTo(banned4, server4, 6619).build()
	size := uint64(len(pkt))
	// b shares a's cache entry, c does not.
	b, c := sameHitSlot(t, a)
	for _, p := range []netip.Prefix{a, b, c} {
		if err := bm.Ban(p, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(p netip.Prefix, n uint64) {
		t.Helper()
		if got := listed(t, d.Maps, p); got.Packets != n || got.Bytes != n*size {
			t.Fatalf("%v: %d packets, %d bytes listed, want %d, %d", p, got.Packets, got.Bytes, n, n*size)
		}
	}
	runs := func(p netip.Prefix, n int) {
		t.Helper()
		for range n {
			if v := run(t, d.prog, tcpTo(p.Addr(), server4, 6619).build()); v != xdpDrop {
				t.Fatalf("%v: verdict %d, want drop", p, v)
			}
		}
	}
	testutil.OnOneCPU(t, func() {
		runs(a, 5)
		want(a, 5)
		if v, _ := rawBan(t, d.Maps, a); v.Packets != 1 {
			t.Fatalf("map counts %d packets of a, want 1 (the rest pending)", v.Packets)
		}
		// Another ban bumps the generation: a's entry is filled again and
		// its pending drops go to the map.
		if err := bm.Ban(netip.MustParsePrefix("198.18.6.6/32"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		runs(a, 3)
		want(a, 8)
		if v, _ := rawBan(t, d.Maps, a); v.Packets != 6 {
			t.Fatalf("map counts %d packets of a after the refill, want 6", v.Packets)
		}
		// b takes a's entry: a's pending drops go to a's ban.
		runs(b, 2)
		want(a, 8)
		want(b, 2)
		if v, _ := rawBan(t, d.Maps, a); v.Packets != 8 {
			t.Fatalf("map counts %d packets of a after b took its entry, want 8", v.Packets)
		}
		runs(c, 4)
		runs(a, 2)
		want(a, 10)
		want(b, 2)
		want(c, 4)

		// Unbanned and banned again: the drops pending for the old ban are
		// not the new one's.
		runs(a, 3)
		if err := bm.Unban(a); err != nil {
			t.Fatal(err)
		}
		if err := bm.Ban(a, time.Time{}); err != nil {
			t.Fatal(err)
		}
		want(a, 0)
		runs(a, 2)
		want(a, 2)
	})
}

// sameHitSlot finds an address of 198.19.0.0/16 whose key shares a's
// hit-cache entry, and one whose key does not.
func sameHitSlot(t *testing.T, a netip.Prefix) (same, other netip.Prefix) {
	t.Helper()
	ka, _ := keyFor(a, 128)
	for i := 1; i < 1<<16 && (!same.IsValid() || !other.IsValid()); i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), 32)
		k, _ := keyFor(p, 128)
		if hitSlotOf(&k) == hitSlotOf(&ka) {
			same = p
		} else if !other.IsValid() {
			other = p
		}
	}
	if !same.IsValid() {
		t.Fatal("no address of 198.19.0.0/16 shares a hit-cache entry with " + a.String())
	}
	return same, other
}

// Pins of an xdpban from before the hit cache have neither the cache nor
// its generation: commands work on them (their program caches nothing),
// and the next start adds both.
func TestPinsWithoutHitCache(t *testing.T) {
	dir := olderPins(t, xdpbanMapXdpbanHits, hitGenPin)
	m, err := OpenPinned(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	mustBan(t, m, "198.18.8.8", time.Hour)
	if err := m.BanMap().Unban(netip.MustParsePrefix("198.18.7.7/32")); err != nil {
		t.Errorf("unban on old pins: %v", err)
	}
	if bans, err := m.List(); err != nil || len(bans) != 1 {
		t.Errorf("list on old pins: %v %v", bans, err)
	}
	m.Close()
	d, err := Load(Config{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, name := range []string{xdpbanMapXdpbanHits, hitGenPin} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the start did not pin %s: %v", name, err)
		}
	}
	testutil.OnOneCPU(t, func() {
		for range 2 {
			if v := run(t, d.prog, tcpTo(netip.MustParseAddr("198.18.8.8"), server4, 6619).build()); v != xdpDrop {
				t.Fatalf("ban made on old pins: verdict %d, want drop", v)
			}
		}
	})
	if b := listed(t, d.Maps, netip.MustParsePrefix("198.18.8.8/32")); b.Packets != 2 {
		t.Errorf("ban made on old pins: %d packets listed, want 2", b.Packets)
	}
}
