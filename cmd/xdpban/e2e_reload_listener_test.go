package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EReloadListener: a reload applies the listener's limits and new
// certificate, key and CA paths; one naming a key that does not exist is
// refused whole with one line, and the running listener stays.
func TestE2EReloadListener(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	old, fresh := newE2EPKI(t), newE2EPKI(t)
	backend := echoBackend(t, lab)
	logPath := filepath.Join(t.TempDir(), "tls.log")
	cfg := filepath.Join(t.TempDir(), "xdpban.yaml")
	write := func(p *e2ePKI, key string, perSource int) {
		t.Helper()
		body := fmt.Sprintf("listen: \"[::]:%d\"\nbackend: %q\ncert: [%q]\nkey: [%q]\nclient-ca: %q\n"+
			"fail2ban-log: %q\nhandshake-timeout: 1m\nmax-handshakes-per-source: %d\nmaxretry: 100\n",
			tlsPort, backend, p.CertFile, key, p.CAFile, logPath, perSource)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reload := func() (int, string) {
		code, _, errb := xb(t, "reload", "--control-socket", n.sock)
		return code, errb
	}
	write(old, old.KeyFile, 8)
	launch(t, lab, n, func(r *statusReport) bool {
		return r.Daemon != nil && len(r.Interfaces) == 1 && !r.Interfaces[0].Defunct
	}, append([]string{"run", "--iface", lab.ServerIf, "--state-dir", n.state, "--config", cfg}, n.flags()...)...)

	// Two silent connections from one source, then a limit of two: the
	// third is closed at once and counted.
	dial := func() net.Conn {
		t.Helper()
		var c net.Conn
		testutil.Do(t, lab.Client, func() {
			d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: lab.ClientV4.AsSlice()}}
			var err error
			if c, err = d.Dial("tcp", netip.AddrPortFrom(lab.ServerV4, tlsPort).String()); err != nil {
				t.Fatal(err)
			}
		})
		t.Cleanup(func() { c.Close() })
		return c
	}
	holders := []net.Conn{dial(), dial()}
	write(old, old.KeyFile, 2)
	if code, errb := reload(); code != 0 {
		t.Fatalf("reload with max-handshakes-per-source 2: exit %d, %q", code, errb)
	}
	third := dial()
	third.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a third connection over the reloaded per-source limit: read %v, want EOF at once", err)
	}
	waitUntil(t, "the over-limit connection in the log", func() bool { return len(failureLines(t, logPath)) == 1 })
	if line := failureLines(t, logPath)[0]; !strings.Contains(line, "from "+lab.ClientV4.String()+": ") {
		t.Errorf("log line of the over-limit connection: %q", line)
	}
	for _, h := range holders {
		h.Close()
	}

	// New files: the partner of the new CA is served, the old one is not.
	write(fresh, fresh.KeyFile, 8)
	if code, errb := reload(); code != 0 {
		t.Fatalf("reload with new certificate paths: exit %d, %q", code, errb)
	}
	if got, err := partnerEcho(t, lab, fresh, lab.ClientAlt4, lab.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner of the new CA after the reload: %q, %v", got, err)
	}
	if got, err := partnerEcho(t, lab, old, lab.ClientAlt4, lab.ServerV4); err == nil {
		t.Errorf("partner of the old CA still served after the reload: %q", got)
	}

	// A key that does not exist: refused whole, the new files and the
	// limits stay.
	write(fresh, filepath.Join(t.TempDir(), "missing.key"), 1)
	code, errb := reload()
	if code != 1 || strings.Count(strings.TrimSpace(errb), "\n") != 0 || !strings.Contains(errb, "missing.key") {
		t.Errorf("reload with a missing key: exit %d, %q; want one line naming the file", code, errb)
	}
	// With one handshake held, a per-source limit of 1 would refuse it.
	dial()
	if got, err := partnerEcho(t, lab, fresh, lab.ClientV4, lab.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner after a refused reload: %q, %v", got, err)
	}
}
