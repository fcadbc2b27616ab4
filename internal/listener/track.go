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
	known   bool          // a known partner when it connected
	silent  *list.Element // its place in a silent list until the ClientHello; nil after
	aborted atomic.Bool   // closed by CloseHandshakes
	evicted atomic.Bool   // closed to make room for a newer connection
	stop    chan struct{} // closed with aborted: stops waiting for the CPU
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
//
// Known partners have reserve slots of their own: unknown sources may
// hold at most max-reserve, and a known newcomer evicts silent unknown
// holders before silent known ones.
type tracker struct {
	mu        sync.Mutex
	max       int
	reserve   int
	maxPer    int
	v6Bits    int
	grace     time.Duration
	perSource map[netip.Prefix]int
	live      map[*handshake]struct{}
	unknown   int        // live handshakes of unknown sources
	silent    *list.List // unknown handshakes without a ClientHello yet, oldest first
	silentK   *list.List // the same for known partners
}

func newTracker(max, maxPer, v6Bits int, grace time.Duration) *tracker {
	return &tracker{
		max: max, reserve: reserveSlots(max), maxPer: maxPer, v6Bits: v6Bits, grace: grace,
		perSource: map[netip.Prefix]int{}, live: map[*handshake]struct{}{},
		silent: list.New(), silentK: list.New(),
	}
}

// reserveSlots is how many of max slots only known partners may take: a
// sixteenth, at least one, and none when there is a single slot.
func reserveSlots(slots int) int {
	if slots < 2 {
		return 0
	}
	return max(1, slots/16)
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

// begin registers c from a (known: a known partner), accepted at now,
// evicting a silent holder when the slots it may use are taken. The
// handshake is nil unless admitted.
func (t *tracker) begin(c net.Conn, a netip.Addr, now time.Time, known bool) (*handshake, admission) {
	t.mu.Lock()
	defer t.mu.Unlock()
	src := t.source(a)
	if t.perSource[src] >= t.maxPer {
		return nil, refusedSource
	}
	switch {
	case known:
		if len(t.live) >= t.max && !t.evictOldest(t.silent, now) && !t.evictOldest(t.silentK, now) {
			return nil, refusedBusy
		}
	case len(t.live) >= t.max || t.unknown >= t.max-t.reserve:
		if !t.evictOldest(t.silent, now) {
			return nil, refusedBusy
		}
	}
	h := &handshake{conn: c, addr: a, src: src, start: now, known: known, stop: make(chan struct{})}
	if known {
		h.silent = t.silentK.PushBack(h)
	} else {
		h.silent = t.silent.PushBack(h)
		t.unknown++
	}
	t.live[h] = struct{}{}
	t.perSource[src]++
	return h, admitted
}

// evictOldest closes the longest-silent connection of l if it has been
// silent for grace; its own goroutine reports the failure.
func (t *tracker) evictOldest(l *list.List, now time.Time) bool {
	front := l.Front()
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

// silentList is the list h waits in until its ClientHello.
func (t *tracker) silentList(h *handshake) *list.List {
	if h.known {
		return t.silentK
	}
	return t.silent
}

// hello records that h's ClientHello arrived: it is no longer evictable.
func (t *tracker) hello(h *handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h.silent != nil {
		t.silentList(h).Remove(h.silent)
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
	if !h.known {
		t.unknown--
	}
	if h.silent != nil {
		t.silentList(h).Remove(h.silent)
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
		if p.Contains(h.addr) && !h.aborted.Swap(true) {
			close(h.stop)
			h.conn.Close()
			n++
		}
	}
	return n
}
