package listener

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// rigConfig is the configuration a reload would read for r: its files
// and backend, with tweak applied.
func rigConfig(r *rig, tweak func(*Config)) Config {
	cur := r.l.config()
	c := Config{CertFile: cur.CertFile, KeyFile: cur.KeyFile, ClientCAFile: cur.ClientCAFile, BackendAddr: cur.BackendAddr}
	if tweak != nil {
		tweak(&c)
	}
	return c
}

// A reload that lowers the per-source limit applies to the next
// connection: two handshakes held from one source, then a limit of two,
// and the third is closed at once and counted as over the limit.
func TestReconfigureLowersLimits(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, func(c *Config) {
		c.HandshakeTimeout = time.Minute
		c.MaxHandshakesPerSource = 4
	})
	var holders []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		holders = append(holders, c)
	}
	waitHandshakes(t, r.l, 2)
	if err := r.l.Reconfigure(rigConfig(r, func(c *Config) {
		c.HandshakeTimeout = time.Minute
		c.MaxHandshakesPerSource = 2
	})); err != nil {
		t.Fatal(err)
	}
	third, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("third connection over the reloaded limit: read %v, want EOF (closed at once)", err)
	}
	for _, h := range holders {
		h.Close()
	}
	over := 0
	for _, f := range r.settle() {
		if f.Code == CodeOverLimit {
			over++
		}
	}
	if over != 1 {
		t.Errorf("%d over-limit failures, want 1", over)
	}
}

// A reload that names other certificate and key files loads them: the
// next handshake gets the new certificate. Files that do not load are
// refused whole: the last good certificate and limits stay.
func TestReconfigureCertPaths(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, nil)
	srv, leaf := p.ca.issue(t, leafOpts{cn: "localhost", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		dns: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, "renewed", srv)
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", r.addr, r.clientConfig(&p.partner))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echo(t, c, "hello")
		return c.ConnectionState().PeerCertificates[0]
	}
	if served().Equal(leaf) {
		t.Fatal("the new certificate is served before the reload")
	}
	if err := r.l.Reconfigure(rigConfig(r, func(c *Config) {
		c.CertFile, c.KeyFile = certFile, keyFile
		c.MaxHandshakesPerSource = 5
	})); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(leaf) {
		t.Error("after the reload the old certificate is still served")
	}
	err := r.l.Reconfigure(rigConfig(r, func(c *Config) {
		c.CertFile, c.KeyFile = certFile, filepath.Join(dir, "missing.key")
		c.MaxHandshakesPerSource = 1
	}))
	if err == nil {
		t.Fatal("a missing key file was accepted")
	}
	if !served().Equal(leaf) {
		t.Error("a refused reload changed the certificate")
	}
	if got := r.l.config().MaxHandshakesPerSource; got != 5 {
		t.Errorf("a refused reload changed the per-source limit to %d", got)
	}
	r.l.hs.mu.Lock()
	maxPer := r.l.hs.maxPer
	r.l.hs.mu.Unlock()
	if maxPer != 5 {
		t.Errorf("a refused reload changed the tracker's per-source limit to %d", maxPer)
	}
}

// A reload that lowers max-handshakes bounds the next admissions: with
// four held and a new limit of three, a newcomer is refused (busy, none
// of the holders is silent long enough to evict), and a raised limit
// takes it again.
func TestSetLimitsLowersMaxHandshakes(t *testing.T) {
	tr := newTracker(16, 16, 128, time.Minute)
	t0 := time.Now()
	for i := range 4 {
		if admit(tr, netip.AddrFrom4([4]byte{198, 18, 3, byte(i)}), t0) == nil {
			t.Fatalf("holder %d refused under the first limit", i)
		}
	}
	tr.setLimits(3, 16, time.Minute)
	c, _ := net.Pipe()
	defer c.Close()
	if h, adm := tr.begin(c, netip.MustParseAddr("198.18.3.9"), t0, false); h != nil || adm != refusedBusy {
		t.Errorf("a newcomer over the lowered max-handshakes: %v %v, want refused busy", h, adm)
	}
	tr.setLimits(16, 16, time.Minute)
	if admit(tr, netip.MustParseAddr("198.18.3.9"), t0) == nil {
		t.Error("a newcomer under the raised limit refused")
	}
}
