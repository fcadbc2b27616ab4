package control

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInUse means another daemon owns the control socket.
var ErrInUse = errors.New("another xdpban daemon answers on this control socket")

// Listen opens the socket for one daemon. It first takes PATH.lock (held
// until the listener closes, released by the kernel on a crash), so two
// daemons never share a socket, whichever mode they run in. A socket left
// at PATH is replaced only when nothing answers on it: a killed daemon's
// leftover, never a live daemon's (not even one of an xdpban too old to
// take the lock).
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	lock, err := lockSocket(path)
	if err != nil {
		return nil, err
	}
	if err := removeStale(path); err != nil {
		lock.Close()
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		lock.Close()
		return nil, err
	}
	return &socketListener{Listener: ln, lock: lock}, nil
}

// lockSocket takes an exclusive flock on PATH.lock. The file stays when
// the daemon ends: removing a lock file lets two processes lock two files.
func lockSocket(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (stop it, or give this one another --control-socket)", path, ErrInUse)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// removeStale removes a socket at path that nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: remove it, or give another --control-socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: %w (stop it, or give this one another --control-socket)", path, ErrInUse)
	}
	// Only a refusal proves nobody listens; a full backlog or a socket we
	// may not open may well be a live daemon's.
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: cannot tell whether a daemon answers there: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	return nil
}

// socketListener releases the socket's lock when it closes, after the
// socket itself is gone, so the next daemon never finds ours.
type socketListener struct {
	net.Listener
	lock *os.File
	once sync.Once
}

func (l *socketListener) Close() error {
	err := l.Listener.Close() // unlinks the socket
	l.once.Do(func() { l.lock.Close() })
	return err
}
