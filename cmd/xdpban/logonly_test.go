package main

import (
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestLogOnlyRunsUnprivileged runs `xdpban run --log-only` as nobody with
// no capabilities, as deploy/systemd/xdpban-logonly.service does: it must
// serve TLS on loopback and write the OS4X line for a failed handshake,
// touching no BPF at all.
func TestLogOnlyRunsUnprivileged(t *testing.T) {
	testutil.RequireRoot(t) // to switch to nobody
	pki := newE2EPKI(t)
	dir := publicTempDir(t)
	for _, f := range []string{pki.CAFile, pki.CertFile, pki.KeyFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()

	logFile := filepath.Join(dir, "log", "tls.log")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		binary, "run", "--log-only", "--listen", addr,
		"--cert", filepath.Join(dir, filepath.Base(pki.CertFile)),
		"--key", filepath.Join(dir, filepath.Base(pki.KeyFile)),
		"--client-ca", filepath.Join(dir, filepath.Base(pki.CAFile)),
		"--backend", backend.Addr().String(),
		"--fail2ban-log", logFile,
		"--state-dir", filepath.Join(dir, "state"),
		"--control-socket", filepath.Join(dir, "control.sock"),
		"--pin-dir", "/nonexistent/never-touched")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// Fail one handshake (no client certificate) once the port answers.
	deadline := time.Now().Add(testutil.HangGuard) // a failsafe, not a timing requirement
	for {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: pki.Pool, ServerName: "127.0.0.1"})
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Read(make([]byte, 1)) // TLS 1.3 reports the refusal on the first read
			c.Close()
			break
		}
		if !strings.Contains(err.Error(), "connection refused") {
			break // the handshake itself failed: that is the failure we want
		}
		if time.Now().After(deadline) {
			t.Fatalf("log-only daemon never listened: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lines []string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logFile)
		if lines = strings.Split(strings.TrimSpace(string(b)), "\n"); len(b) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "TLS error 167772359 during connect try from 127.0.0.1: ") {
		t.Fatalf("log lines %q, want one no-certificate line from 127.0.0.1\n%s", lines, stderr.String())
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Errorf("errors in the log-only daemon's log:\n%s", stderr.String())
	}
}
