package xdp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrDaemonOwns: a running daemon holds the pins, so commands must change
// bans through it, not behind its jail's back.
var ErrDaemonOwns = errors.New("a running xdpban daemon owns these pins")

// socketPinName is a symlink in the pin directory naming the control
// socket of the daemon that holds the lock (bpffs keeps symlinks, not
// files). It is read only while that lock is held.
const socketPinName = "control_socket"

// sharedLockWait bounds how long a starting daemon waits for commands
// that write without a daemon (they hold the lock shared for one write).
const sharedLockWait = 5 * time.Second

// RecordControlSocket writes where this daemon listens next to its pins,
// so a command given another --control-socket can say where to go.
func (d *Datapath) RecordControlSocket(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("record control socket: %w", err)
	}
	link := filepath.Join(d.pinDir, socketPinName)
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("record control socket: %w", err)
	}
	if err := os.Symlink(abs, link); err != nil {
		return fmt.Errorf("record control socket: %w", err)
	}
	return nil
}

// OpenDirect opens the pinned maps for a command that changes bans with no
// daemon running (ban, unban). It refuses while a daemon holds the pins,
// naming the socket the daemon listens on, and holds the lock shared
// until Close, so a daemon starting meanwhile waits for the write.
func OpenDirect(pinDir string) (*Maps, error) {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	if err := requireCaps("open pins", mapCaps); err != nil {
		return nil, err
	}
	if err := checkBPFFS(pinDir); err != nil {
		return nil, err
	}
	f, err := os.Open(pinDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", pinDir, ErrNotLoaded)
	}
	if err != nil {
		return nil, permissionHint("open pin directory", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ownedError(pinDir)
		}
		return nil, fmt.Errorf("lock pin directory: %w", err)
	}
	m, err := OpenPinned(pinDir, false)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.lock = f
	return m, nil
}

// ownedError names the daemon's socket when it recorded one.
func ownedError(pinDir string) error {
	sock, err := os.Readlink(filepath.Join(pinDir, socketPinName))
	if err != nil {
		return fmt.Errorf("%w (%s): go through the daemon, with the --control-socket it was started with", ErrDaemonOwns, pinDir)
	}
	return fmt.Errorf("%w (%s) and listens on %s: use --control-socket %s", ErrDaemonOwns, pinDir, sock, sock)
}

// onlySharedHolders tells whether the lock on dir is held shared (commands
// writing for a moment) rather than exclusively (a daemon, a detach).
func onlySharedHolders(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return false
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}
