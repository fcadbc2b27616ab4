package listener

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// handshake is one connection between accept and the end of its handshake.
type handshake struct {
	conn    net.Conn
	addr    netip.Addr
	src     netip.Prefix // what the per-source limit counts it as
	aborted atomic.Bool  // closed by CloseHandshakes
}

// tracker bounds concurrent handshakes overall and per source, so slow or
// half-open connections cannot use up memory or file descriptors, and
// knows which connections are still in handshake for CloseHandshakes.
// An IPv6 source is its prefix of v6Bits, as the jail and the map count
// it: one host of a /64 holds every address in it, and would otherwise
// get maxPer handshakes per address.
type tracker struct {
	mu        sync.Mutex
	max       int
	maxPer    int
	v6Bits    int
	perSource map[netip.Prefix]int
	live      map[*handshake]struct{}
}

func newTracker(max, maxPer, v6Bits int) *tracker {
	return &tracker{max: max, maxPer: maxPer, v6Bits: v6Bits, perSource: map[netip.Prefix]int{}, live: map[*handshake]struct{}{}}
}

// source is what the per-source limit counts a: itself for IPv4, its
// prefix for IPv6.
func (t *tracker) source(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = t.v6Bits
	}
	p, _ := a.Prefix(bits)
	return p
}

// begin registers c, or returns nil when a limit is full.
func (t *tracker) begin(c net.Conn, a netip.Addr) *handshake {
	t.mu.Lock()
	defer t.mu.Unlock()
	src := t.source(a)
	if len(t.live) >= t.max || t.perSource[src] >= t.maxPer {
		return nil
	}
	h := &handshake{conn: c, addr: a, src: src}
	t.live[h] = struct{}{}
	t.perSource[src]++
	return h
}

func (t *tracker) end(h *handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[h]; !ok {
		return
	}
	delete(t.live, h)
	if t.perSource[h.src]--; t.perSource[h.src] <= 0 {
		delete(t.perSource, h.src)
	}
}

// abort closes the handshakes whose source is in p and returns how many.
func (t *tracker) abort(p netip.Prefix) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for h := range t.live {
		if p.Contains(h.addr) {
			h.aborted.Store(true)
			h.conn.Close()
			n++
		}
	}
	return n
}
