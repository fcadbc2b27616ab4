package listener

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// closeWriter is a connection that can end one direction (TCP FIN, TLS
// close_notify) and keep reading the other: OFTP2 and other protocols may
// send their last words after the peer finished.
type closeWriter interface {
	CloseWrite() error
}

// dialBackend connects to the backend and, when configured, first sends a
// PROXY v2 header naming the partner and the address it connected to.
func (l *Listener) dialBackend(client net.Conn) (net.Conn, error) {
	cfg := l.config()
	d := net.Dialer{Timeout: cfg.HandshakeTimeout}
	back, err := d.Dial("tcp", cfg.BackendAddr)
	if err != nil {
		return nil, fmt.Errorf("dial backend: %w", err)
	}
	if cfg.BackendProxyProtocol {
		hdr := proxyproto.HeaderProxyFromAddrs(2, client.RemoteAddr(), client.LocalAddr())
		back.SetWriteDeadline(time.Now().Add(cfg.HandshakeTimeout))
		if _, err := hdr.WriteTo(back); err != nil {
			back.Close()
			return nil, fmt.Errorf("send proxy header: %w", err)
		}
		back.SetWriteDeadline(time.Time{})
	}
	return back, nil
}

// pipe copies both ways until both directions ended, passing each EOF on
// as a half-close, and closes both after IdleTimeout without data in
// either direction.
func (l *Listener) pipe(a, b net.Conn) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	wg.Add(2)
	copyHalf := func(dst, src net.Conn) {
		defer wg.Done()
		if err := l.copyIdle(dst, src, &last); err != nil {
			// Not a clean end: tear both down so the other half stops too.
			a.Close()
			b.Close()
			return
		}
		if cw, ok := dst.(closeWriter); ok {
			cw.CloseWrite()
		}
	}
	go copyHalf(b, a)
	go copyHalf(a, b)
	wg.Wait()
	a.Close()
	b.Close()
}

// copyIdle copies src to dst until EOF (nil) or an error. Read deadlines
// roll forward; a timeout ends the copy only when neither direction moved
// data for IdleTimeout (last is shared by both directions).
func (l *Listener) copyIdle(dst, src net.Conn, last *atomic.Int64) error {
	idle := l.config().IdleTimeout
	buf := make([]byte, 32<<10)
	for {
		src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			dst.SetWriteDeadline(time.Now().Add(idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < idle:
			// The other direction is busy; keep waiting.
		default:
			return err
		}
	}
}
