package xdp

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"
)

// filterCount reads the filter counter of p's slot.
func filterCount(t *testing.T, m *Maps, p netip.Prefix) uint8 {
	t.Helper()
	k, err := keyFor(p, m.ipv6Prefix)
	if err != nil {
		t.Fatal(err)
	}
	return m.filter.count(&k)
}

// collidingPair finds two addresses of 2001:db8::/32 whose keys share a
// filter slot. (Not of 198.18.0.0/15: the multiplicative hash spreads
// neighbouring IPv4 addresses without a single collision.)
func collidingPair(t *testing.T, f *countingFilter) (netip.Prefix, netip.Prefix) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[uint32]netip.Prefix{}
	for range 1 << 16 {
		var a [16]byte
		binary.BigEndian.PutUint32(a[:], 0x20010db8)
		binary.BigEndian.PutUint32(a[4:], rng.Uint32())
		binary.BigEndian.PutUint64(a[8:], rng.Uint64())
		p := netip.PrefixFrom(netip.AddrFrom16(a), 128)
		k, _ := keyFor(p, 128)
		s := f.slotOf(&k)
		if q, ok := seen[s]; ok {
			return q, p
		}
		seen[s] = p
	}
	t.Fatal("no two of 65536 random addresses share a filter slot")
	return netip.Prefix{}, netip.Prefix{}
}

// TestFilterCountsEveryWay checks the filter's rule on each path that adds
// or removes a ban: a counter is the number of bans in its slot.
func TestFilterCountsEveryWay(t *testing.T) {
	d := loadTest(t, Config{})
	prog := d.Program()
	a, b := collidingPair(t, d.filter)
	hit := func(p netip.Prefix) []byte { return tcpTo(p.Addr(), server6, 6619).build() }
	later := time.Now().Add(time.Hour)

	if err := d.BanMap().Ban(a, later); err != nil {
		t.Fatal(err)
	}
	if err := d.BanMap().Ban(a, later.Add(time.Hour)); err != nil { // an update, not a second key
		t.Fatal(err)
	}
	if n := filterCount(t, d.Maps, a); n != 1 {
		t.Fatalf("one ban, banned twice: counter %d, want 1", n)
	}
	if err := d.BanMap().Ban(b, later); err != nil {
		t.Fatal(err)
	}
	if n := filterCount(t, d.Maps, a); n != 2 {
		t.Fatalf("two bans in one slot: counter %d, want 2", n)
	}
	if err := d.BanMap().Unban(a); err != nil {
		t.Fatal(err)
	}
	if n := filterCount(t, d.Maps, b); n != 1 {
		t.Fatalf("after unbanning one of two: counter %d, want 1", n)
	}
	if v := run(t, prog, hit(b)); v != xdpDrop {
		t.Fatalf("the other ban of the slot: verdict %d, want drop", v)
	}
	if v := run(t, prog, hit(a)); v != xdpPass {
		t.Fatalf("unbanned source: verdict %d, want pass", v)
	}

	// The program removes an expired ban and counts it out.
	if err := d.BanMap().Ban(b, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if v := run(t, prog, hit(b)); v != xdpPass {
		t.Fatalf("expired ban: verdict %d, want pass", v)
	}
	if n := filterCount(t, d.Maps, b); n != 0 {
		t.Fatalf("after the program removed an expired ban: counter %d, want 0", n)
	}

	// Sweep counts out what it removes.
	if err := d.BanMap().Ban(a, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := d.BanMap().Sweep(); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if n := filterCount(t, d.Maps, a); n != 0 {
		t.Fatalf("after sweep: counter %d, want 0", n)
	}

	// Eviction from a full map goes through the same removal.
	full := loadTest(t, Config{MaxBans: 1})
	if err := full.BanMap().Ban(a, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	victim, found, err := full.BanMap().SoonestEnding()
	if err != nil || !found || victim.Prefix != a {
		t.Fatalf("soonest ending: %+v %v %v, want %v", victim, found, err, a)
	}
	if err := full.BanMap().Unban(victim.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := full.BanMap().Ban(b, later); err != nil {
		t.Fatal(err)
	}
	if n := filterCount(t, full.Maps, a); n != 1 {
		t.Fatalf("after evicting one ban for another in its slot: counter %d, want 1", n)
	}
}

// TestSweepCountsBansWrittenAroundUs: a key put into the map without the
// filter (as bpftool map update does) is not looked up by the program
// until the sweep counts it in; then it is dropped.
func TestSweepCountsBansWrittenAroundUs(t *testing.T) {
	d := loadTest(t, Config{})
	key, err := keyFor(netip.PrefixFrom(banned4, 32), 128)
	if err != nil {
		t.Fatal(err)
	}
	val := xdpbanBanValue{ExpiresNs: uint64(monoNow() + time.Hour)}
	if err := d.bans.Update(&key, &val, 0); err != nil {
		t.Fatal(err)
	}
	pkt := tcpTo(banned4, server4, 6619).build()
	if v := run(t, d.Program(), pkt); v != xdpPass {
		t.Fatalf("a key outside the filter: verdict %d; the filter no longer filters?", v)
	}
	removed, recounted, err := d.BanMap().Sweep()
	if err != nil || removed != 0 || recounted != 1 {
		t.Fatalf("sweep: removed %d, recounted %d, %v; want 0, 1", removed, recounted, err)
	}
	if v := run(t, d.Program(), pkt); v != xdpDrop {
		t.Fatalf("after the sweep counted it in: verdict %d, want drop", v)
	}
	if _, recounted, _ := d.BanMap().Sweep(); recounted != 0 {
		t.Errorf("a second sweep recounted %d bans", recounted)
	}
}

// TestSweepKeepsABanRenewedMeanwhile: between the sweep's walk (which saw
// the ban ended) and its removal, the address is banned again. The sweep
// must not remove the renewed ban.
func TestSweepKeepsABanRenewedMeanwhile(t *testing.T) {
	d := loadTest(t, Config{})
	p := netip.PrefixFrom(banned4, 32)
	if err := d.BanMap().Ban(p, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	testHookBeforeRemove = func(*xdpbanBanKey) {
		if err := d.BanMap().Ban(p, time.Now().Add(time.Hour)); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { testHookBeforeRemove = nil })
	removed, _, err := d.BanMap().Sweep()
	if err != nil || removed != 0 {
		t.Fatalf("sweep: removed %d, %v; want 0 (the ban was renewed)", removed, err)
	}
	bans, err := d.List()
	if err != nil || len(bans) != 1 || bans[0].Expired || bans[0].Remaining(time.Now()) < 59*time.Minute {
		t.Fatalf("after the sweep: %+v, %v; want the renewed ban", bans, err)
	}
	if v := run(t, d.Program(), tcpTo(banned4, server4, 6619).build()); v != xdpDrop {
		t.Fatalf("renewed ban: verdict %d, want drop", v)
	}
	if n := filterCount(t, d.Maps, p); n != 1 {
		t.Errorf("filter counter %d, want 1", n)
	}
}

// TestFilterAgreesWithProgram bans random IPv4 and IPv6 sources and checks
// each is dropped: had Go and the program hashed a key differently, the
// program would find its slot empty and pass it.
func TestFilterAgreesWithProgram(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 4096, IPv6Prefix: 64})
	prog := d.Program()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		var src, dst netip.Addr
		if i%2 == 0 {
			src = netip.AddrFrom4([4]byte{198, 18 + byte(rng.IntN(2)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			dst = server4
		} else {
			var a [16]byte
			binary.BigEndian.PutUint64(a[:], 0x20010db800000000|rng.Uint64()&0xffffffff)
			binary.BigEndian.PutUint64(a[8:], rng.Uint64())
			src, dst = netip.AddrFrom16(a), server6
		}
		if err := d.BanMap().Ban(netip.PrefixFrom(src, src.BitLen()), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if v := run(t, prog, tcpTo(src, dst, 6619).build()); v != xdpDrop {
			t.Fatalf("banned %s: verdict %d, want drop", src, v)
		}
	}
}

// TestFilterBatch checks BanBatch's counters: each slot counts its keys.
func TestFilterBatch(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 70_000})
	var specs []BanSpec
	want := map[uint32]int{}
	for i := range 66_000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}), 32)
		specs = append(specs, BanSpec{Prefix: p, Until: time.Now().Add(time.Hour)})
		k, _ := keyFor(p, 128)
		want[d.filter.slotOf(&k)]++
	}
	if _, err := d.BanMap().BanBatch(specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs[:2000] {
		k, _ := keyFor(s.Prefix, 128)
		if got := d.filter.count(&k); int(got) != want[d.filter.slotOf(&k)] {
			t.Fatalf("%s: counter %d, want %d", s.Prefix, got, want[d.filter.slotOf(&k)])
		}
	}
	// A batch that does not fit counts out what it could not write.
	small := loadTest(t, Config{MaxBans: 10})
	if _, err := small.BanMap().BanBatch(specs[:20]); err == nil {
		t.Fatal("20 bans into a map of 10: no error")
	}
	total := 0
	for _, s := range specs[:20] {
		if filterCount(t, small.Maps, s.Prefix) > 0 {
			total++
		}
	}
	if n, _ := small.Count(); total != n {
		t.Errorf("after a batch that did not fit: %d slots counted, %d bans in the map", total, n)
	}
}

// TestFilterSaturates checks that a counter at its top stays there: it can
// no longer count exactly, so it must never reach zero under a ban.
func TestFilterSaturates(t *testing.T) {
	f := &countingFilter{mem: make([]byte, 1<<filterMinBits), bits: filterMinBits}
	k, _ := keyFor(testBan, 128)
	neighbour := f.slotOf(&k) ^ 1 // shares the 32-bit word
	f.mem[neighbour] = 7
	for range filterSaturated + 10 {
		f.countIn(&k)
	}
	if uint32(f.count(&k)) != filterSaturated {
		t.Fatalf("counter %d after %d acquires, want %d", f.count(&k), filterSaturated+10, filterSaturated)
	}
	for range filterSaturated + 10 {
		f.countOut(&k)
	}
	if uint32(f.count(&k)) != filterSaturated {
		t.Fatalf("a saturated counter went down to %d", f.count(&k))
	}
	if f.mem[neighbour] != 7 {
		t.Fatalf("the neighbouring counter changed to %d", f.mem[neighbour])
	}
}

// setPinnedLayout rewrites the layout version in the pinned meta map and
// removes the ban filter, as an older xdpban's pins have it.
func setPinnedLayout(t *testing.T, d *Datapath, version uint32) {
	t.Helper()
	var meta xdpbanMeta
	if err := d.meta.Lookup(uint32(0), &meta); err != nil {
		t.Fatal(err)
	}
	meta.LayoutVersion = version
	if err := d.meta.Put(uint32(0), &meta); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filterPin(d.PinDir())); err != nil {
		t.Fatal(err)
	}
}

// TestOldLayoutGetsNoNewPins checks that loading over the pins of an
// xdpban too old to upgrade is refused before anything is added to them.
func TestOldLayoutGetsNoNewPins(t *testing.T) {
	d := loadTest(t, Config{})
	dir := d.PinDir()
	setPinnedLayout(t, d, 2)
	d.Close()
	if _, err := Load(Config{PinDir: dir}); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("load over layout 2: %v, want ErrIncompatible", err)
	}
	if _, err := os.Stat(filterPin(dir)); !os.IsNotExist(err) {
		t.Errorf("load over an older layout pinned the filter: %v", err)
	}
	if _, err := OpenPinned(dir, false); !errors.Is(err, ErrIncompatible) {
		t.Errorf("open layout 2 pins: %v, want ErrIncompatible", err)
	}
}
