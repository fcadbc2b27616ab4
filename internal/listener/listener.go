// Package listener is xdpban's mutual-TLS front: it accepts partners whose
// client certificate verifies against the configured CA (clientAuth usage,
// CRL, optional allow-lists), forwards them to the backend, and turns every
// failed handshake into exactly one event.Failure with OS4X's error code.
package listener

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// Listener serves one or more net.Listeners with the same configuration.
type Listener struct {
	cfg      atomic.Pointer[Config] // Reconfigure swaps it
	tlsConf  atomic.Pointer[tls.Config]
	hs       *tracker
	partners *Partners
	gate     *cpuGate

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closing   bool
	wg        sync.WaitGroup
}

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("listener closed")

// New checks cfg and loads the certificates; it does not listen yet.
func New(cfg Config) (*Listener, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{
		hs:        newTracker(cfg.MaxHandshakes, cfg.MaxHandshakesPerSource, cfg.SourcePrefixV6, cfg.silentGrace()),
		partners:  cfg.Partners,
		gate:      newCPUGate(cfg.UnknownHandshakes, lowerUnknown()),
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
	}
	l.cfg.Store(&cfg)
	// Not through Reload: at a start (and in xdpban check) nothing is
	// being reloaded, and the error must not say so.
	c, err := loadTLSConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	l.tlsConf.Store(c)
	return l, nil
}

// Reload re-reads certificate, key, CA bundle and CRL (on SIGHUP). New
// handshakes use them; established connections are untouched. On error the
// old configuration stays in force.
func (l *Listener) Reload() error {
	c, err := loadTLSConfig(*l.config())
	if err != nil {
		return fmt.Errorf("reload tls: %w", err)
	}
	l.tlsConf.Store(c)
	return nil
}

// Serve accepts on ln until Shutdown (then returns ErrClosed) or a
// permanent accept error. It takes ownership of ln.
func (l *Listener) Serve(ln net.Listener) error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	l.listeners[ln] = struct{}{}
	l.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if l.isClosing() {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors: wait instead of spinning.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		if !l.track(c) {
			c.Close()
			continue
		}
		// Limits are applied here, in accept order, so a flood cannot race
		// past them in goroutines that have not registered yet.
		peer := peerAddr(c)
		now := time.Now()
		h, adm := l.hs.begin(c, peer, now, l.partners.Known(peer, now))
		go l.handle(c, peer, h, adm)
	}
}

// handle runs one connection from peer: limits, sniffing, handshake,
// forwarding. h is nil unless adm is admitted.
func (l *Listener) handle(c net.Conn, peer netip.Addr, h *handshake, adm admission) {
	defer l.untrack(c)
	defer c.Close()
	switch adm {
	case refusedSource:
		l.fail(peer, CodeOverLimit, "")
		return
	case refusedBusy:
		l.refuse(peer, RefusedBusy)
		return
	}
	tc, ok := l.handshake(h)
	l.hs.end(h)
	if !ok {
		return
	}
	l.partners.Seen(peer, time.Now())
	cfg := l.config()
	if cfg.OnSuccess != nil {
		name := ""
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			name = partnerName(certs[0])
		}
		cfg.OnSuccess(peer, name)
	}
	back, err := l.dialBackend(c)
	if err != nil {
		cfg.Logger.Warn("forward partner", "peer", peer, "err", err)
		if cfg.OnForwardError != nil {
			cfg.OnForwardError()
		}
		return
	}
	l.trackExtra(back)
	defer l.untrack(back)
	l.pipe(tc, back)
}

// handshake sniffs and runs the TLS handshake within HandshakeTimeout and
// reports a failure exactly once.
func (l *Listener) handshake(h *handshake) (*tls.Conn, bool) {
	c := h.conn
	cfg := l.config()
	c.SetDeadline(time.Now().Add(cfg.HandshakeTimeout))
	br := bufio.NewReader(c)
	code, scan := sniff(br)
	name := ""
	var tc *tls.Conn
	gate := &gated{g: l.gate, stop: h.stop}
	defer gate.finish()
	if code == 0 {
		sc := newSniffedConn(c, br)
		tc = tls.Server(&gatedConn{sniffedConn: sc, br: br, s: gate, deadline: h.start.Add(cfg.HandshakeTimeout)}, &tls.Config{
			GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
				l.hs.hello(h)
				// An unknown source waits its turn for the CPU, at most
				// half the timeout, so it still has time to answer.
				if !h.known && !gate.acquire(h.start.Add(cfg.HandshakeTimeout/2)) {
					return nil, errBusy
				}
				// configFor looks at the sniffed connection under the gate.
				sniffed := *hi
				sniffed.Conn = sc
				return configFor(l.tlsConf.Load(), &sniffed), nil
			},
		})
		if err := tc.Handshake(); err != nil {
			code, name = classifyHandshake(err)
			if alert, ok := sc.records.plaintextAlert(); ok {
				code, name = CodeAlert(alert), ""
			}
		}
	}
	switch {
	case code == 0:
		c.SetDeadline(time.Time{})
		return tc, true
	case h.aborted.Load():
		code, name = CodeBanAborted, ""
	case h.evicted.Load():
		// It held a slot for grace or longer without a ClientHello.
		code, name = CodeTimeout, ""
	case gate.refused:
		// No CPU turn in time: our capacity, not the client's doing.
		l.refuse(h.addr, RefusedUnknown)
		return nil, false
	case scan && !cfg.CountScans && time.Since(h.start) < cfg.silentGrace():
		// Connected and closed at once: a scan or a health check. One
		// that sat silent first held a slot, and counts.
		return nil, false
	}
	l.fail(h.addr, code, name)
	return nil, false
}

// refuse reports a connection closed unheard for a reason that is not
// the source's doing; it is not a failure.
func (l *Listener) refuse(peer netip.Addr, why Refusal) {
	if l.config().OnRefused != nil {
		l.config().OnRefused(peer, why)
	}
}

func (l *Listener) fail(peer netip.Addr, code uint32, name string) {
	l.config().OnFailure(event.Failure{
		Addr:    peer,
		Time:    time.Now(),
		Code:    code,
		Message: Message(code),
		Name:    name,
		Source:  "listener",
	})
}

// CloseHandshakes closes the connections from p that are still in
// handshake (the daemon calls it on a ban); established partners stay.
// It returns how many it closed.
func (l *Listener) CloseHandshakes(p netip.Prefix) int {
	return l.hs.abort(event.NormPrefix(p))
}

func peerAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().WithZone("")
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap().WithZone("")
}
