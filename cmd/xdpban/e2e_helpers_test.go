package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// serve accepts on port in the lab's server namespace and answers "ok".
func serve(t *testing.T, lab *testutil.Lab, port int) {
	t.Helper()
	listenIn(t, lab.Server, ":"+strconv.Itoa(port), func(c net.Conn) {
		c.Write([]byte("ok\n"))
	})
}

// listenIn listens on addr inside namespace ns and runs handle for every
// connection, closing it afterwards, until the test ends. It returns the
// address it listens on.
func listenIn(t *testing.T, ns, addr string, handle func(net.Conn)) string {
	t.Helper()
	var ln net.Listener
	testutil.Do(t, ns, func() {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { ln.Close() })
	testutil.AcceptLoop(ln, handle)
	return ln.Addr().String()
}

// reach reports whether a TCP connection from src (in the client
// namespace) to dst:port gets its answer. A SYN dropped by XDP shows up as
// a connect timeout.
func reach(t *testing.T, lab *testutil.Lab, src, dst netip.Addr, port int) bool {
	t.Helper()
	ok := false
	testutil.Do(t, lab.Client, func() {
		d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		b, _ := io.ReadAll(c)
		ok = string(b) == "ok\n"
	})
	return ok
}

// daemonProc is an `xdpban run` process in the server namespace.
type daemonProc struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
	done   chan struct{}
}

// node is one xdpban installation under test: its pins, state and socket.
type node struct {
	pin, state, sock string
}

func newNode(t *testing.T) node {
	dir := t.TempDir()
	return node{pin: testutil.PinDir(t), state: dir + "/state", sock: dir + "/control.sock"}
}

// flags are what every CLI command of this node needs.
func (n node) flags() []string { return []string{"--pin-dir", n.pin, "--control-socket", n.sock} }

func startDaemon(t *testing.T, lab *testutil.Lab, n node, extra ...string) *daemonProc {
	t.Helper()
	args := append([]string{"run", "--iface", lab.ServerIf, "--listen", "", "--fail2ban-log", "", "--state-dir", n.state, "--sweep-interval", "1s"}, n.flags()...)
	// Ready when status shows the daemon answering and the interface attached.
	return launch(t, lab, n, func(r *statusReport) bool {
		return r.Daemon != nil && len(r.Interfaces) == 1 && !r.Interfaces[0].Defunct
	}, append(args, extra...)...)
}

// kill sends sig to the daemon we started (by its PID) and waits for it.
func (d *daemonProc) kill(sig syscall.Signal) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// status runs `xdpban status --json` where the interface is, as an
// operator would. Its exit status 2 (a complete report saying the
// program is not attached somewhere) is not an error here; statusCode
// returns it.
func status(lab *testutil.Lab, n node) (*statusReport, error) {
	r, _, err := statusCode(lab, n)
	return r, err
}

func statusCode(lab *testutil.Lab, n node) (*statusReport, int, error) {
	out, err := testutil.Command(lab.Server, binary, append([]string{"status", "--json"}, n.flags()...)...).Output()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, 0, err
		}
		if code = ee.ExitCode(); code != 2 {
			return nil, code, errors.New(string(ee.Stderr))
		}
	}
	var r statusReport
	return &r, code, json.Unmarshal(out, &r)
}

// xdpban runs a CLI command as a process and fails the test if it fails.
func xdpban(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.HangGuard)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xdpban %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// scrape fetches a metrics page from inside the server namespace. The
// request is written by hand on a socket made in the namespace: net/http
// would dial from another goroutine, on a thread outside it.
func scrape(t *testing.T, lab *testutil.Lab, addr, path string) string {
	t.Helper()
	var body []byte
	testutil.Do(t, lab.Server, func() {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("scrape %s: %v", addr, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET "+path+" HTTP/1.0\r\nHost: x\r\n\r\n")
		body, _ = io.ReadAll(c)
	})
	return string(body)
}

// lockedBuffer collects a process's stderr: exec copies into it from its
// own goroutine while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
