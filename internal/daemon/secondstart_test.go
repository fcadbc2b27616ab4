package daemon

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// startJailDaemon is a daemon that runs startJail on stateDir and pinDir.
func startJailDaemon(t *testing.T, stateDir, pinDir string) *daemon {
	t.Helper()
	d := &daemon{log: slog.New(slog.NewTextHandler(io.Discard, nil)), o: Options{StateDir: stateDir, Jail: jail.DefaultConfig(),
		ControlSock: filepath.Join(t.TempDir(), "control.sock"),
		Datapath:    DatapathOptions{Config: xdp.Config{PinDir: pinDir, MaxBans: 1000}}}}
	d.o.Jail.IgnoreSelf = false
	d.metrics = d.newMetrics()
	return d
}

// A second start on a running daemon's store fails and leaves the first
// as it was: its pins, its ban in the map, its store. The program loads
// while the store opens, so a second start with pins of its own has made
// them by the time the store refuses it: abandoning it removes them.
func TestSecondStartLeavesTheFirst(t *testing.T) {
	testutil.RequireRoot(t)
	stateDir, pin := t.TempDir(), testutil.PinDir(t)
	first := startJailDaemon(t, stateDir, pin)
	if err := first.startJail(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		first.close()
		first.dp.Abandon()
	})
	p := netip.MustParsePrefix("198.18.26.1/32")
	if _, err := first.jail.BanManual(p, time.Hour); err != nil {
		t.Fatal(err)
	}

	for name, c := range map[string]struct {
		pin     string
		wantErr error
	}{
		"same pins":  {pin, state.ErrLocked},
		"other pins": {testutil.PinDir(t), state.ErrLocked},
	} {
		t.Run(name, func(t *testing.T) {
			second := startJailDaemon(t, stateDir, c.pin)
			err := second.startJail()
			second.abandon()
			if err == nil {
				t.Fatal("a second start on a running daemon's store succeeded")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("second start: %v, want %v", err, c.wantErr)
			}
			if c.pin != pin {
				if _, err := os.Stat(c.pin); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the failed start's own pins are still there (%v)", err)
				}
			}
			if b, ok, err := first.dp.Lookup(p.Addr()); err != nil || !ok || b.Prefix != p {
				t.Errorf("first daemon's map after the second start: %+v %v %v, want %v", b, ok, err, p)
			}
			if stored, err := first.store.ActiveBans(); err != nil || len(stored) != 1 || stored[0].Prefix != p {
				t.Errorf("first daemon's store after the second start: %+v %v, want %v", stored, err, p)
			}
		})
	}
}
