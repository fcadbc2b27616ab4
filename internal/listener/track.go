package listener

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// handshake is one connection between accept and the end of its handshake.
type handshake struct {
	conn    net.Conn
	addr    netip.Addr
	src     netip.Prefix // what the per-source limit counts it as
	start   time.Time
	silent  *list.Element // its place in tracker.silent until the ClientHello; nil after
	aborted atomic.Bool   // closed by CloseHandshakes
	evicted atomic.Bool   // closed to make room for a newer connection
}

// admission is what the tracker decided for a new connection.
type admission int

const (
	admitted admission = iota
	// refusedBusy: every slot is taken by connections that are not yet
	// evictable. Not the newcomer's doing, so never counted against it.
	refusedBusy
	// refusedSource: the source itself holds its share of slots; counted.
	refusedSource
)

// tracker bounds concurrent handshakes overall and per source, so slow or
// half-open connections cannot use up memory or file descriptors, and
// knows which connections are still in handshake for CloseHandshakes.
// An IPv6 source is its prefix of v6Bits, as the jail and the map count
// it: one host of a /64 holds every address in it, and would otherwise
// get maxPer handshakes per address.
//
// When every slot is taken, a newcomer evicts the connection that has
// waited longest without sending its ClientHello, if that one has been
// silent for at least grace: an attacker holding idle connections cannot
// keep partners out, and the eviction counts against the holder. Holders
// younger than grace are left alone (the newcomer is refused, uncounted),
// so a storm of new connections cannot push out a partner whose
// ClientHello is still on its way.
type tracker struct {
	mu        sync.Mutex
	max       int
	maxPer    int
	v6Bits    int
	grace     time.Duration
	perSource map[netip.Prefix]int
	live      map[*handshake]struct{}
	silent    *list.List // of *handshake without a ClientHello yet, oldest first
}

func newTracker(max, maxPer, v6Bits int, grace time.Duration) *tracker {
	return &tracker{
		max: max, maxPer: maxPer, v6Bits: v6Bits, grace: grace,
		perSource: map[netip.Prefix]int{}, live: map[*handshake]struct{}{}, silent: list.New(),
	}
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

// begin registers c from a, accepted at now, evicting a silent holder when
// every slot is taken. The handshake is nil unless admitted.
func (t *tracker) begin(c net.Conn, a netip.Addr, now time.Time) (*handshake, admission) {
	t.mu.Lock()
	defer t.mu.Unlock()
	src := t.source(a)
	if t.perSource[src] >= t.maxPer {
		return nil, refusedSource
	}
	if len(t.live) >= t.max && !t.evictOldest(now) {
		return nil, refusedBusy
	}
	h := &handshake{conn: c, addr: a, src: src, start: now}
	h.silent = t.silent.PushBack(h)
	t.live[h] = struct{}{}
	t.perSource[src]++
	return h, admitted
}

// evictOldest closes the longest-silent connection if it has been silent
// for grace; its own goroutine reports the failure.
func (t *tracker) evictOldest(now time.Time) bool {
	front := t.silent.Front()
	if front == nil {
		return false
	}
	h := front.Value.(*handshake)
	if now.Sub(h.start) < t.grace {
		return false
	}
	h.evicted.Store(true)
	t.remove(h)
	h.conn.Close()
	return true
}

// hello records that h's ClientHello arrived: it is no longer evictable.
func (t *tracker) hello(h *handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h.silent != nil {
		t.silent.Remove(h.silent)
		h.silent = nil
	}
}

func (t *tracker) end(h *handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(h)
}

// remove forgets h; it is a no-op for a handshake already removed.
func (t *tracker) remove(h *handshake) {
	if _, ok := t.live[h]; !ok {
		return
	}
	delete(t.live, h)
	if h.silent != nil {
		t.silent.Remove(h.silent)
		h.silent = nil
	}
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
