package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

func serveTest(t *testing.T, path string, h Handler) {
	t.Helper()
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, ln, h, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestCallRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	serveTest(t, path, func(r Request) Response {
		switch r.Cmd {
		case "ban":
			return Response{Ban: &Ban{Prefix: r.Target, Count: int(r.Duration / time.Second)}}
		case "status":
			return Response{Status: &Status{Jail: "xdpban", Failed: jail.Stats{TotalFailed: 7}}}
		}
		return Response{Error: "unknown command " + r.Cmd}
	})
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600: only root may ban through it", st.Mode(), err)
	}
	resp, err := Call(path, Request{Cmd: "ban", Target: "198.18.0.2/32", Duration: 5 * time.Second})
	if err != nil || resp.Ban == nil || resp.Ban.Prefix != "198.18.0.2/32" || resp.Ban.Count != 5 {
		t.Fatalf("ban: %+v, %v", resp, err)
	}
	resp, err = Call(path, Request{Cmd: "status"})
	if err != nil || resp.Status.Failed.TotalFailed != 7 {
		t.Fatalf("status: %+v, %v", resp, err)
	}
	if _, err := Call(path, Request{Cmd: "reboot"}); err == nil || !strings.Contains(err.Error(), "unknown command reboot") {
		t.Errorf("an error answer must come back as an error: %v", err)
	}
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	if _, err := Call(filepath.Join(dir, "missing.sock"), Request{Cmd: "status"}); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("missing socket: %v, want ErrNoDaemon", err)
	}
	// A socket file left by a killed daemon: nobody listens.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Call(stale, Request{Cmd: "status"}); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("stale socket: %v, want ErrNoDaemon", err)
	}
	// A new daemon takes the stale path over.
	serveTest(t, stale, func(Request) Response { return Response{Status: &Status{Jail: "xdpban"}} })
	if _, err := Call(stale, Request{Cmd: "status"}); err != nil {
		t.Errorf("after takeover: %v", err)
	}
}

func TestGarbageRequestGetsAnAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	serveTest(t, path, func(Request) Response { return Response{} })
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "{not json\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "bad request") {
		t.Errorf("answer to garbage: %q", b)
	}
}

// TestListenNeverReplacesALiveSocket: a second daemon on the same path is
// refused and the first keeps answering, also when the first's socket
// file was deleted behind its back (the lock still holds), and when the
// socket answers without the lock (an xdpban too old to take it).
func TestListenNeverReplacesALiveSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.sock")
	answer := func(Request) Response { return Response{Status: &Status{Jail: "first"}} }
	serveTest(t, path, answer)
	if ln, err := Listen(path); !errors.Is(err, ErrInUse) {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("second Listen on a live socket: %v, want ErrInUse", err)
	}
	if resp, err := Call(path, Request{Cmd: "status"}); err != nil || resp.Status.Jail != "first" {
		t.Fatalf("the first daemon no longer answers: %+v, %v", resp, err)
	}

	// Its socket removed: the lock still refuses a second daemon.
	lockOnly := filepath.Join(dir, "locked.sock")
	serveTest(t, lockOnly, answer)
	if err := os.Remove(lockOnly); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(lockOnly); !errors.Is(err, ErrInUse) {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("Listen while another holds the lock: %v, want ErrInUse", err)
	}

	// A socket that answers but holds no lock.
	bare := filepath.Join(dir, "old.sock")
	old, err := net.Listen("unix", bare)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if ln, err := Listen(bare); !errors.Is(err, ErrInUse) {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("Listen over an answering socket without a lock: %v, want ErrInUse", err)
	}
	if c, err := net.Dial("unix", bare); err != nil {
		t.Fatalf("the answering socket was replaced: %v", err)
	} else {
		c.Close()
	}
}

// TestListenAfterClose: a daemon that stopped leaves neither socket nor a
// held lock, so the next one starts at once.
func TestListenAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	ln.Close() // Serve and the daemon both close it
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after close: %v", err)
	}
	ln, err = Listen(path)
	if err != nil {
		t.Fatalf("Listen after the first closed: %v", err)
	}
	ln.Close()
}

// TestListenRefusesANonSocket: a mistyped path naming a file is not
// deleted.
func TestListenRefusesANonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xdpban.yaml")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("Listen over a file: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Errorf("the file was touched: %q, %v", b, err)
	}
}
