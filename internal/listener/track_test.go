package listener

import (
	"net"
	"net/netip"
	"testing"
)

// TestPerSourceLimitCountsIPv6Prefixes: with /64 bans, addresses of one
// /64 share the per-source limit; another /64 and IPv4 sources do not.
func TestPerSourceLimitCountsIPv6Prefixes(t *testing.T) {
	tr := newTracker(100, 2, 64)
	conn := func() net.Conn { c, _ := net.Pipe(); return c }
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::2") // same /64
	other := netip.MustParseAddr("2001:db8:1:3::1")
	first := tr.begin(conn(), a)
	if first == nil || tr.begin(conn(), b) == nil {
		t.Fatal("two handshakes from one /64 refused under a limit of 2")
	}
	if tr.begin(conn(), netip.MustParseAddr("2001:db8:1:2::3")) != nil {
		t.Error("a third address of the same /64 got past the limit of 2")
	}
	if tr.begin(conn(), other) == nil {
		t.Error("another /64 was refused")
	}
	tr.end(first)
	if tr.begin(conn(), netip.MustParseAddr("2001:db8:1:2::4")) == nil {
		t.Error("the /64 stayed full after one of its handshakes ended")
	}

	v4 := newTracker(100, 1, 64)
	if v4.begin(conn(), netip.MustParseAddr("198.18.0.1")) == nil || v4.begin(conn(), netip.MustParseAddr("::ffff:198.18.0.2")) == nil {
		t.Error("two IPv4 sources share a limit")
	}
	if v4.begin(conn(), netip.MustParseAddr("::ffff:198.18.0.1")) != nil {
		t.Error("an IPv4-mapped address escaped its IPv4 source's limit")
	}
}
