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
			return Response{Status: &Status{Jail: "xdpban", Failed: JailCounts{TotalFailed: 7}}}
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
