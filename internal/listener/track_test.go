package listener

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestPerSourceLimitCountsIPv6Prefixes: with /64 bans, addresses of one
// /64 share the per-source limit; another /64 and IPv4 sources do not.
func TestPerSourceLimitCountsIPv6Prefixes(t *testing.T) {
	tr := newTracker(100, 2, 64, time.Second)
	now := time.Now()
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::2") // same /64
	other := netip.MustParseAddr("2001:db8:1:3::1")
	first := admit(tr, a, now)
	if first == nil || admit(tr, b, now) == nil {
		t.Fatal("two handshakes from one /64 refused under a limit of 2")
	}
	if admit(tr, netip.MustParseAddr("2001:db8:1:2::3"), now) != nil {
		t.Error("a third address of the same /64 got past the limit of 2")
	}
	if admit(tr, other, now) == nil {
		t.Error("another /64 was refused")
	}
	tr.end(first)
	if admit(tr, netip.MustParseAddr("2001:db8:1:2::4"), now) == nil {
		t.Error("the /64 stayed full after one of its handshakes ended")
	}

	v4 := newTracker(100, 1, 64, time.Second)
	if admit(v4, netip.MustParseAddr("198.18.0.1"), now) == nil || admit(v4, netip.MustParseAddr("::ffff:198.18.0.2"), now) == nil {
		t.Error("two IPv4 sources share a limit")
	}
	if admit(v4, netip.MustParseAddr("::ffff:198.18.0.1"), now) != nil {
		t.Error("an IPv4-mapped address escaped its IPv4 source's limit")
	}
}

// admit is begin for a fresh connection, nil unless admitted.
func admit(tr *tracker, a netip.Addr, now time.Time) *handshake {
	c, _ := net.Pipe()
	h, _ := tr.begin(c, a, now, false)
	return h
}

// TestFullTrackerEvictsOldestSilent: with every slot taken, a newcomer
// evicts the connection silent longest once it has been silent for the
// grace; younger holders and holders whose ClientHello arrived stay, and
// then the newcomer is refused as busy (not its fault), not as over its
// source's limit.
func TestFullTrackerEvictsOldestSilent(t *testing.T) {
	grace := time.Second
	tr := newTracker(3, 8, 128, grace) // 2 slots for unknown sources, 1 reserved
	t0 := time.Now()
	old := admit(tr, netip.MustParseAddr("198.18.1.1"), t0)
	young := admit(tr, netip.MustParseAddr("198.18.1.2"), t0.Add(grace/2))
	if old == nil || young == nil {
		t.Fatal("two slots of two refused")
	}
	c, _ := net.Pipe()
	if h, adm := tr.begin(c, netip.MustParseAddr("198.18.1.3"), t0.Add(grace/2), false); h != nil || adm != refusedBusy {
		t.Fatalf("newcomer with only young holders: %v %v, want refused busy", h, adm)
	}
	if old.evicted.Load() || young.evicted.Load() {
		t.Fatal("a holder younger than the grace was evicted")
	}
	next := admit(tr, netip.MustParseAddr("198.18.1.3"), t0.Add(grace))
	if next == nil || !old.evicted.Load() || young.evicted.Load() {
		t.Fatalf("after the grace: newcomer %v, oldest evicted %v, younger evicted %v", next != nil, old.evicted.Load(), young.evicted.Load())
	}
	if _, err := old.conn.Write([]byte{1}); err == nil {
		t.Error("evicted connection still open")
	}
	tr.end(old) // its goroutine ends it later: a no-op now
	if len(tr.live) != 2 || len(tr.perSource) != 2 || tr.unknown != 2 {
		t.Fatalf("live %d, sources %d after eviction", len(tr.live), len(tr.perSource))
	}

	// A ClientHello makes a connection safe from eviction.
	tr.hello(young)
	tr.hello(next)
	if h, adm := tr.begin(c, netip.MustParseAddr("198.18.1.4"), t0.Add(time.Hour), false); h != nil || adm != refusedBusy {
		t.Fatalf("newcomer evicted a handshake past its ClientHello: %v %v", h, adm)
	}
	tr.end(young)
	if admit(tr, netip.MustParseAddr("198.18.1.4"), t0.Add(time.Hour)) == nil {
		t.Error("a freed slot was not reused")
	}
}

// TestPerSourceLimitRefusesAsSource: the per-source limit refuses as the
// source's own doing, before any eviction on its behalf.
func TestPerSourceLimitRefusesAsSource(t *testing.T) {
	tr := newTracker(1, 1, 128, time.Second)
	t0 := time.Now()
	a := netip.MustParseAddr("198.18.1.1")
	first := admit(tr, a, t0)
	c, _ := net.Pipe()
	if h, adm := tr.begin(c, a, t0.Add(time.Hour), false); h != nil || adm != refusedSource {
		t.Fatalf("second from one source: %v %v, want refused as source", h, adm)
	}
	if first.evicted.Load() {
		t.Error("a source evicted its own connection past its limit")
	}
}

// TestKnownPartnersHaveReservedSlots: unknown sources cannot take the
// reserve; a known partner can, and when even that is full it evicts a
// silent unknown holder before a silent known one.
func TestKnownPartnersHaveReservedSlots(t *testing.T) {
	grace := time.Second
	tr := newTracker(16, 16, 128, grace) // one slot reserved
	t0 := time.Now()
	var unknown []*handshake
	for i := range 15 {
		h := admit(tr, netip.AddrFrom4([4]byte{198, 18, 2, byte(i)}), t0)
		if h == nil {
			t.Fatalf("unknown source %d refused below its share", i)
		}
		unknown = append(unknown, h)
	}
	c, _ := net.Pipe()
	if h, adm := tr.begin(c, netip.MustParseAddr("198.18.2.99"), t0, false); h != nil || adm != refusedBusy {
		t.Fatalf("an unknown source took the reserved slot: %v %v", h, adm)
	}
	known, adm := tr.begin(c, netip.MustParseAddr("198.18.3.1"), t0, true)
	if known == nil || adm != admitted {
		t.Fatalf("known partner refused with the reserve free: %v", adm)
	}
	if h, adm := tr.begin(c, netip.MustParseAddr("198.18.3.2"), t0, true); h != nil || adm != refusedBusy {
		t.Fatalf("second known partner with all slots young: %v %v", h, adm)
	}
	later := t0.Add(grace)
	if h, _ := tr.begin(c, netip.MustParseAddr("198.18.3.2"), later, true); h == nil || !unknown[0].evicted.Load() || known.evicted.Load() {
		t.Fatalf("known newcomer: admitted %v, oldest unknown evicted %v, known evicted %v", h != nil, unknown[0].evicted.Load(), known.evicted.Load())
	}
	if tr.unknown != 14 || len(tr.live) != 16 {
		t.Errorf("unknown %d, live %d", tr.unknown, len(tr.live))
	}
}

// TestPartnersKnownByAgeAndPrefix: an address is known for the age after
// its last handshake, prefixes always; the set stays bounded, dropping
// the address seen longest ago.
func TestPartnersKnownByAgeAndPrefix(t *testing.T) {
	t0 := time.Now()
	p := NewPartners(time.Hour, 2, []netip.Prefix{netip.MustParsePrefix("::ffff:198.18.9.0/120")})
	a, b, c := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("198.18.1.3")
	if !p.Known(netip.MustParseAddr("198.18.9.7"), t0) {
		t.Error("an ignoreip address is not known")
	}
	if p.Known(a, t0) {
		t.Error("a stranger is known")
	}
	p.Seen(netip.MustParseAddr("::ffff:198.18.1.1"), t0)
	if !p.Known(a, t0.Add(59*time.Minute)) || p.Known(a, t0.Add(time.Hour)) {
		t.Error("known for the wrong time")
	}
	p.Seen(b, t0.Add(time.Minute))
	p.Seen(c, t0.Add(2*time.Minute))
	if p.Known(a, t0.Add(3*time.Minute)) || !p.Known(b, t0.Add(3*time.Minute)) || !p.Known(c, t0.Add(3*time.Minute)) {
		t.Error("a full set did not drop the address seen longest ago")
	}
	snap := p.Snapshot(t0.Add(61 * time.Minute))
	if len(snap) != 1 || !snap[c].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("snapshot %v", snap)
	}
	q := NewPartners(time.Hour, 2, nil)
	q.Restore(snap)
	if !q.Known(c, t0.Add(61*time.Minute)) {
		t.Error("restored partner not known")
	}
	// A reload or ignore add/del replaces the prefixes.
	p.SetPrefixes([]netip.Prefix{netip.MustParsePrefix("198.18.8.0/24")})
	if p.Known(netip.MustParseAddr("198.18.9.7"), t0) || !p.Known(netip.MustParseAddr("198.18.8.7"), t0) {
		t.Error("SetPrefixes did not replace the ignoreip prefixes")
	}
}
