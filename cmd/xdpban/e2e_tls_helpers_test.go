package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// The e2e tests' fixed places in the lab.
const (
	tlsPort    = 6619
	noCertCode = "167772359" // OpenSSL's "peer did not return a certificate"
)

// echoBackend runs the "OFTP2 server" in the server namespace: it echoes
// every line back. It returns its address as the daemon (also in the
// server namespace) dials it.
func echoBackend(t *testing.T, lab *testutil.Lab) string {
	t.Helper()
	return listenIn(t, lab.Server, "127.0.0.1:0", func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.Copy(c, c)
	})
}

// dialTLS opens a TLS connection from src (client namespace) to dst:6619
// with cfg, finishing the handshake. The TCP socket lives in the client
// namespace for its whole life.
func dialTLS(t *testing.T, lab *testutil.Lab, src, dst netip.Addr, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	var conn *tls.Conn
	var err error
	testutil.Do(t, lab.Client, func() {
		d := &net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		var c net.Conn
		c, err = d.Dial("tcp", netip.AddrPortFrom(dst, tlsPort).String())
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		conn = tls.Client(c, cfg)
		if err = conn.Handshake(); err != nil {
			conn.Close()
			conn = nil
		}
	})
	return conn, err
}

// attack makes one handshake from src without a client certificate, as a
// scanner or a partner with a lost certificate would. It fails the test if
// the connection was served; it returns false when the SYN got no answer
// (banned).
func attack(t *testing.T, lab *testutil.Lab, src, dst netip.Addr) (connected bool) {
	t.Helper()
	conn, err := dialTLS(t, lab, src, dst, &tls.Config{InsecureSkipVerify: true})
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return false
	}
	if err != nil {
		return true // refused during the handshake (TLS 1.2 style)
	}
	defer conn.Close()
	// TLS 1.3: the client finishes first; the server's refusal arrives as
	// an alert on the first read.
	conn.Write([]byte("hello\n"))
	if b, err := io.ReadAll(conn); err == nil && len(b) > 0 {
		t.Fatalf("attacker %s without a certificate was served: %q", src, b)
	}
	return true
}

// partnerEcho sends a line through the listener as a partner with a valid
// certificate and returns what the backend echoed.
func partnerEcho(t *testing.T, lab *testutil.Lab, p *e2ePKI, src, dst netip.Addr) (string, error) {
	t.Helper()
	conn, err := dialTLS(t, lab, src, dst, &tls.Config{RootCAs: p.Pool, Certificates: []tls.Certificate{p.Partner}, ServerName: dst.String()})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("partner data\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(conn).ReadString('\n')
}

// connects reports whether a bare TCP connection from src to dst:port is
// accepted: a SYN dropped by XDP shows up as a connect timeout. It sends
// nothing, so it never counts as a failed handshake (--count-scans off).
func connects(t *testing.T, lab *testutil.Lab, src, dst netip.Addr, port int) bool {
	t.Helper()
	ok := false
	testutil.Do(t, lab.Client, func() {
		d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		if err == nil {
			ok = true
			c.Close()
		}
	})
	return ok
}

// waitUntil polls cond; the deadline is a failsafe, not an expectation.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for: %s", what)
}

// mustStatus is status that fails the test on error.
func mustStatus(t *testing.T, lab *testutil.Lab, n node) *statusReport {
	t.Helper()
	r, err := status(lab, n)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return r
}

// totalFailed is the running daemon's live failure count.
func totalFailed(t *testing.T, lab *testutil.Lab, n node) uint64 {
	t.Helper()
	r := mustStatus(t, lab, n)
	if r.Daemon == nil {
		t.Fatal("status: no daemon answers")
	}
	return r.Daemon.Failed.TotalFailed
}

// waitFailed waits until the daemon has counted want failures in all.
func waitFailed(t *testing.T, lab *testutil.Lab, n node, want uint64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("total failed = %d", want), func() bool { return totalFailed(t, lab, n) >= want })
	if got := totalFailed(t, lab, n); got != want {
		t.Fatalf("total failed %d, want %d", got, want)
	}
}

// daemonBan finds prefix among the running daemon's bans.
func daemonBan(r *statusReport, prefix string) (start, end time.Time, origin string, ok bool) {
	if r.Daemon == nil {
		return
	}
	for _, b := range r.Daemon.Bans {
		if b.Prefix == prefix {
			return b.Start, b.End, b.Origin, true
		}
	}
	return
}

// mapBan finds prefix among the pinned map's bans still in force.
func mapBan(r *statusReport, prefix string) (banReport, bool) {
	for _, b := range r.Bans {
		if b.Prefix.String() == prefix && !b.Expired {
			return b, true
		}
	}
	return banReport{}, false
}

// waitBanned waits until the daemon of n reports a ban of prefix and the
// pinned map holds it, and returns its start and end. The jail lists a
// ban as soon as it decides it and writes the map just after, outside
// its lock: a status read between the two shows a ban not yet enforced.
func waitBanned(t *testing.T, lab *testutil.Lab, n node, prefix string) (start, end time.Time) {
	t.Helper()
	waitUntil(t, "ban of "+prefix+" in the daemon and the map", func() bool {
		r := mustStatus(t, lab, n)
		var ok bool
		start, end, _, ok = daemonBan(r, prefix)
		_, inMap := mapBan(r, prefix)
		return ok && inMap
	})
	return start, end
}

// failureLines returns the lines of a fail2ban log.
// logLines waits until the fail2ban log at path holds at least want lines
// and returns them: the daemon writes a failure's line after the jail has
// counted it (and, for the failure that bans, after the ban), so status
// may show a failure before its line is in the file.
func logLines(t *testing.T, path string, want int) []string {
	t.Helper()
	var lines []string
	waitUntil(t, fmt.Sprintf("%d lines in %s", want, path), func() bool {
		lines = failureLines(t, path)
		return len(lines) >= want
	})
	return lines
}

func failureLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// launch starts `xdpban args...` in the server namespace and returns once
// ready(status) holds (startDaemon's check is one; log-only daemons, with
// no interfaces, need another).
func launch(t *testing.T, lab *testutil.Lab, n node, ready func(*statusReport) bool, args ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{cmd: testutil.Command(lab.Server, binary, args...), done: make(chan struct{})}
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.kill(syscall.SIGKILL) })
	// The deadline is a failsafe: a start on a loaded machine (the
	// verifier, the clock's calibration, TLS keys) may take seconds.
	for deadline := time.Now().Add(testutil.HangGuard); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-d.done:
			t.Fatalf("xdpban run exited early:\n%s", d.stderr.String())
		default:
		}
		if r, err := status(lab, n); err == nil && ready(r) {
			return d
		}
	}
	t.Fatalf("xdpban run not ready after %s:\n%s", testutil.HangGuard, d.stderr.String())
	return nil
}

// runFails runs `xdpban args...` expecting it to fail and returns its
// stderr.
func runFails(t *testing.T, lab *testutil.Lab, args ...string) string {
	t.Helper()
	cmd := testutil.Command(lab.Server, binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("xdpban %v: want exit status 1, got %v\n%s", args, err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("xdpban %v kept running with a bad configuration:\n%s", args, stderr.String())
	}
	return stderr.String()
}
