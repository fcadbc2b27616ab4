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
	aborted atomic.Bool // closed by CloseHandshakes
}

// tracker bounds concurrent handshakes overall and per source, so slow or
// half-open connections cannot use up memory or file descriptors, and
// knows which connections are still in handshake for CloseHandshakes.
type tracker struct {
	mu        sync.Mutex
	max       int
	maxPer    int
	perSource map[netip.Addr]int
	live      map[*handshake]struct{}
}

func newTracker(max, maxPer int) *tracker {
	return &tracker{max: max, maxPer: maxPer, perSource: map[netip.Addr]int{}, live: map[*handshake]struct{}{}}
}

// begin registers c, or returns nil when a limit is full.
func (t *tracker) begin(c net.Conn, a netip.Addr) *handshake {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.live) >= t.max || t.perSource[a] >= t.maxPer {
		return nil
	}
	h := &handshake{conn: c, addr: a}
	t.live[h] = struct{}{}
	t.perSource[a]++
	return h
}

func (t *tracker) end(h *handshake) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[h]; !ok {
		return
	}
	delete(t.live, h)
	if t.perSource[h.addr]--; t.perSource[h.addr] <= 0 {
		delete(t.perSource, h.addr)
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
