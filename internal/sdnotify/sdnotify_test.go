package sdnotify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type message struct {
	text string
	at   time.Time
}

// fakeSystemd listens on a unixgram socket as systemd does, points
// NOTIFY_SOCKET at it, and returns the messages it receives.
func fakeSystemd(t *testing.T) <-chan message {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	os.Unsetenv("WATCHDOG_USEC")
	os.Unsetenv("WATCHDOG_PID")
	ch := make(chan message, 256)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- message{string(buf[:n]), time.Now()}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan message) string {
	t.Helper()
	text, ok := within(ch, 5*time.Second)
	if !ok {
		t.Fatal("no notification within 5s")
	}
	return text
}

// within returns the first message ch delivers within d, if one comes.
func within(ch <-chan message, d time.Duration) (string, bool) {
	select {
	case m := <-ch:
		return m.text, true
	case <-time.After(d):
		return "", false
	}
}

// marker is what before sends through NOTIFY_SOCKET itself; systemd
// ignores unknown variables.
const marker = "X_XDPBAN_TEST_MARKER=1"

// before returns every message sent to the fake systemd before this call:
// it sends a marker after them and reads up to it. A datagram socket
// keeps the order of what is sent to it, so nothing sent earlier can be
// missed however late the reader runs.
func before(t *testing.T, ch <-chan message) []message {
	t.Helper()
	if err := notify(marker); err != nil {
		t.Fatal(err)
	}
	var got []message
	for {
		m, ok := <-ch
		if !ok {
			t.Fatal("the fake systemd stopped reading")
		}
		if m.text == marker {
			return got
		}
		got = append(got, m)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestStates(t *testing.T) {
	ch := fakeSystemd(t)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != "READY=1" {
		t.Errorf("Ready sent %q", got)
	}
	if err := Reloading(); err != nil {
		t.Fatal(err)
	}
	got := next(t, ch)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Errorf("Reloading sent %q", got)
	} else if us, err := strconv.ParseUint(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64); err != nil || us == 0 {
		t.Errorf("Reloading sent a bad MONOTONIC_USEC: %q", lines[1])
	}
	if err := Stopping(); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != "STOPPING=1" {
		t.Errorf("Stopping sent %q", got)
	}
	Status("3 banned\n2 failing")
	if got := next(t, ch); got != "STATUS=3 banned 2 failing" {
		t.Errorf("Status sent %q", got)
	}
}

func TestNoSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for name, f := range map[string]func() error{"Ready": Ready, "Reloading": Reloading, "Stopping": Stopping} {
		if err := f(); err != nil {
			t.Errorf("%s without systemd: %v", name, err)
		}
	}
	Status("ignored")
}

func TestSocketGone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "absent.sock"))
	if err := Ready(); err == nil || !strings.Contains(err.Error(), `notify systemd "READY=1"`) {
		t.Errorf("Ready to a missing socket = %v", err)
	}
}

// TestWatchdogInterval: with WATCHDOG_USEC=200ms the pings come every
// 100ms and stop with the context. A ticker never fires early, so ping k
// comes at least k periods after the start, and a late ping does not
// delay the ones after it: the mean interval to the last of many pings
// is 100ms plus that ping's delay spread over all of them, while a
// watchdog pinging at WatchdogSec instead of half of it could not come
// under 200ms.
func TestWatchdogInterval(t *testing.T) {
	ch := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	done := make(chan struct{})
	go func() { Watchdog(ctx, quiet()); close(done) }()

	const pings = 12 // after the one at once
	var at []time.Time
	for len(at) <= pings {
		m := <-ch
		if m.text != "WATCHDOG=1" {
			t.Fatalf("watchdog sent %q", m.text)
		}
		at = append(at, m.at)
	}
	cancel()
	<-done
	mean := at[pings].Sub(start) / pings
	t.Logf("mean ping interval %v (WatchdogSec 200ms)", mean)
	if mean < 95*time.Millisecond || mean >= 175*time.Millisecond {
		t.Errorf("mean ping interval %v, want about 100ms", mean)
	}
	// Watchdog has returned (done is closed): what it sent is read up
	// to the marker, and nothing pings any more.
	before(t, ch)
	if text, ok := within(ch, 250*time.Millisecond); ok {
		t.Errorf("ping after stop: %q", text)
	}
}

// TestWatchdogPingsAtOnce: the first ping goes out at the start, not a
// period later: with a 10s period it comes long before the first tick.
func TestWatchdogPingsAtOnce(t *testing.T) {
	ch := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "20000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	go Watchdog(ctx, quiet())
	select {
	case m := <-ch:
		if m.text != "WATCHDOG=1" {
			t.Fatalf("watchdog sent %q", m.text)
		}
		if after := m.at.Sub(start); after >= 5*time.Second {
			t.Errorf("first ping after %v, want at once (the period is 10s)", after)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ping at the start: the first came no sooner than the period (10s)")
	}
}

func TestWatchdogOff(t *testing.T) {
	ch := fakeSystemd(t)
	for name, env := range map[string][2]string{
		"unset":     {"", ""},
		"other pid": {"200000", strconv.Itoa(os.Getpid() + 1)},
		"garbage":   {"soon", ""},
	} {
		t.Setenv("WATCHDOG_USEC", env[0])
		t.Setenv("WATCHDOG_PID", env[1])
		done := make(chan struct{})
		go func() { Watchdog(context.Background(), quiet()); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: Watchdog did not return when off", name)
		}
	}
	if got := before(t, ch); len(got) != 0 {
		t.Errorf("watchdog off sent %+v", got)
	}
}

// TestWatchdogFuncUnhealthy: no ping while the health check fails, pings
// again once it passes.
func TestWatchdogFuncUnhealthy(t *testing.T) {
	ch := fakeSystemd(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	var sick atomic.Bool
	sick.Store(true)
	var checks atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go WatchdogFunc(ctx, quiet(), func() error {
		checks.Add(1)
		if sick.Load() {
			return errors.New("sweep loop stuck")
		}
		return nil
	})
	// Three failed checks, at least 100ms: two periods without a ping.
	for deadline := time.Now().Add(10 * time.Second); checks.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("health checked %d times in 10s at a 50ms period", checks.Load())
		}
	}
	if got := before(t, ch); len(got) != 0 {
		t.Fatalf("pinged while unhealthy: %+v", got)
	}
	sick.Store(false)
	if got := next(t, ch); got != "WATCHDOG=1" {
		t.Errorf("sent %q once healthy", got)
	}
}
