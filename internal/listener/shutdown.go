package listener

import (
	"context"
	"net"
)

// track registers a connection for Shutdown; false once shutting down.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

// trackExtra registers a backend connection of a tracked partner, so a
// forced shutdown closes it too.
func (l *Listener) trackExtra(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns[c] = struct{}{}
	l.wg.Add(1)
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; ok {
		delete(l.conns, c)
		l.wg.Done()
	}
}

func (l *Listener) isClosing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closing
}

// Shutdown stops accepting, then waits for handshakes and forwarded
// connections to end by themselves (SIGTERM drain). When ctx ends first,
// it closes the rest and returns ctx's error.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	l.closing = true
	for ln := range l.listeners {
		ln.Close()
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
