package listener

import (
	"bufio"
	"errors"
	"time"
)

// errBusy fails a handshake that got no CPU turn in time. It is ours, not
// the client's: it is not counted.
var errBusy = errors.New("handshakes of unknown sources are at capacity")

// cpuGate bounds how many handshakes of unknown sources compute at once
// (key exchange, the server's signature, checking the client's
// certificate), so their CPU use is bounded by the number of tokens and a
// flood of them queues here, in arrival order, instead of in the
// scheduler in front of partners. A token is held only while computing:
// a handshake waiting for its client gives it back. When lower is set,
// a holder's thread runs at SCHED_IDLE, so partners' handshakes and
// forwarded sessions preempt it at once.
type cpuGate struct {
	tokens chan struct{}
	lower  bool
}

func newCPUGate(n int, lower bool) *cpuGate {
	return &cpuGate{tokens: make(chan struct{}, n), lower: lower}
}

// acquire waits for a token until deadline or until stop is closed.
// Waiters are served first come, first served (channel senders queue).
func (g *cpuGate) acquire(deadline time.Time, stop <-chan struct{}) bool {
	select {
	case g.tokens <- struct{}{}:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.tokens <- struct{}{}:
		return true
	case <-t.C:
	case <-stop:
	}
	return false
}

func (g *cpuGate) release() { <-g.tokens }

// gated is one unknown handshake's use of the gate. Only the handshake's
// own goroutine touches it: thread priority is per thread.
type gated struct {
	g       *cpuGate
	stop    <-chan struct{}
	held    bool
	resume  bool // gave the token back to wait; take it again on data
	done    bool // the handshake is over: the connection is not gated any more
	low     lowered
	isLow   bool
	refused bool // no token in time: a refusal, not a failure
}

func (s *gated) acquire(deadline time.Time) bool {
	if s.held {
		return true
	}
	if !s.g.acquire(deadline, s.stop) {
		s.refused = true
		return false
	}
	s.held = true
	if s.g.lower {
		s.low, s.isLow = lowerThread()
	}
	return true
}

// finish gives the token back for good when the handshake ends, before
// the connection is handed to the forwarding goroutines.
func (s *gated) finish() {
	s.release()
	s.done, s.resume = true, false
}

func (s *gated) release() {
	if !s.held {
		return
	}
	if s.isLow {
		// If the old priority cannot be restored the goroutine stays
		// locked and its thread ends with it (see lowered.restore).
		s.low.restore()
		s.isLow = false
	}
	s.held = false
	s.g.release()
}

// gatedConn gives the gate token back while the handshake waits for its
// client, and takes it again when the client's bytes arrive. After the
// handshake it only passes bytes through: forwarding reads and writes it
// from two goroutines, and only the handshake's goroutine owns the gate.
type gatedConn struct {
	*sniffedConn
	br       *bufio.Reader // what sniff read ahead: a read with bytes there does not wait
	s        *gated
	deadline time.Time
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.s.done {
		return c.sniffedConn.Read(p)
	}
	if c.s.held && c.br.Buffered() == 0 {
		c.s.release()
		c.s.resume = true
	}
	n, err := c.sniffedConn.Read(p)
	if c.s.resume && n > 0 {
		c.s.resume = false
		if !c.s.acquire(c.deadline) {
			return 0, errBusy
		}
	}
	return n, err
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if c.s.done {
		return c.sniffedConn.Write(p)
	}
	if c.s.held {
		c.s.release()
		c.s.resume = true
	}
	return c.sniffedConn.Write(p)
}
