package xdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestDirectWritesRefusedWhileADaemonOwnsThePins: ban and unban without
// the daemon's socket must not change the map behind its jail; the
// refusal names the socket the daemon recorded.
func TestDirectWritesRefusedWhileADaemonOwnsThePins(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.PinDir(t)
	d, err := Load(Config{PinDir: dir, MaxBans: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.BanMap().Ban(testBan, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const sock = "/run/xdpban-test/control.sock"
	if err := d.RecordControlSocket(sock); err != nil {
		t.Fatal(err)
	}
	m, err := OpenDirect(dir)
	if !errors.Is(err, ErrDaemonOwns) || !strings.Contains(err.Error(), "--control-socket "+sock) {
		if m != nil {
			m.Close()
		}
		d.Close()
		t.Fatalf("direct open while the daemon runs: %v, want ErrDaemonOwns naming %s", err, sock)
	}
	d.Close()

	// Without the daemon the command writes, holding the lock shared: a
	// second command writes alongside, a daemon starting waits for both.
	m, err = OpenDirect(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := OpenDirect(dir)
	if err != nil {
		t.Fatalf("two commands at once: %v", err)
	}
	m2.Close()
	if err := m.BanMap().Unban(testBan); err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() {
		d, err := Load(Config{PinDir: dir})
		if err == nil {
			d.Close()
		}
		started <- err
	}()
	// Hold the write a moment, so the start usually meets the lock; it
	// must succeed whether it did or not.
	time.Sleep(100 * time.Millisecond)
	if err := m.BanMap().Ban(netip.MustParsePrefix("198.18.7.8/32"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if err := <-started; err != nil {
		t.Fatalf("a daemon starting during a command's write: %v, want it to wait", err)
	}
}
