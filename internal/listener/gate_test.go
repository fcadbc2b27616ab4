package listener

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xdpban/xdpban/internal/testutil"
)

// dialFrom is tls.Dial from a given loopback address.
func dialFrom(src string, addr string, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return tls.DialWithDialer(d, "tcp", addr, cfg)
}

// TestUnknownBeyondCapacityRefusedKnownServed: with the unknown sources'
// CPU share taken, an unknown partner waits half the handshake timeout
// and is refused before the server signs anything (it never sees the
// server's certificate), uncounted; a known partner is served meanwhile.
// Once the share is free the unknown one is served too.
func TestUnknownBeyondCapacityRefusedKnownServed(t *testing.T) {
	p := newPKI(t)
	var refused atomic.Int32
	const timeout = 4 * time.Second
	r := startRig(t, p, func(c *Config) {
		c.HandshakeTimeout = timeout
		c.UnknownHandshakes = 1
		c.Partners = NewPartners(0, 0, []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")})
		c.OnRefused = func(peer netip.Addr, why Refusal) {
			if peer.String() == "127.0.0.1" && why == RefusedUnknown {
				refused.Add(1)
			}
		}
	})
	r.l.gate.tokens <- struct{}{} // the share is busy
	sawServer := false
	cfg := r.clientConfig(&p.partner)
	cfg.VerifyConnection = func(tls.ConnectionState) error { sawServer = true; return nil }
	start := time.Now()
	if c, err := dialFrom("127.0.0.1", r.addr, cfg); err == nil {
		c.Close()
		t.Fatal("unknown partner served beyond capacity")
	}
	if waited := time.Since(start); waited < timeout/2-100*time.Millisecond {
		t.Errorf("refused after %v, want a wait of half the timeout", waited)
	}
	if sawServer {
		t.Error("the refused client got the server's certificate: the server signed")
	}

	known, err := dialFrom("127.0.0.2", r.addr, r.clientConfig(&p.partner))
	if err != nil {
		t.Fatalf("known partner while the unknown share is busy: %v", err)
	}
	echo(t, known, "known")
	known.Close()

	<-r.l.gate.tokens
	unknown, err := dialFrom("127.0.0.1", r.addr, r.clientConfig(&p.partner))
	if err != nil {
		t.Fatalf("unknown partner with the share free: %v", err)
	}
	echo(t, unknown, "now known")
	unknown.Close()
	if !r.l.partners.Known(netip.MustParseAddr("127.0.0.1"), time.Now()) {
		t.Error("a partner whose handshake succeeded is not known")
	}
	if fs := r.settle(); len(fs) != 0 {
		t.Errorf("refusals counted as failures: %+v", fs)
	}
	if refused.Load() != 1 {
		t.Errorf("%d refusals reported, want 1", refused.Load())
	}
}

// TestLowerThreadAndRestore: an unknown source's compute runs on a thread
// at SCHED_IDLE, which gets its old policy back afterwards.
func TestLowerThreadAndRestore(t *testing.T) {
	testutil.RequireRoot(t) // leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE
	if !lowerUnknown() {
		t.Fatal("root may not leave SCHED_IDLE again")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	before, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	lw, ok := lowerThread()
	if !ok {
		t.Fatal("could not lower the thread")
	}
	if a, _ := unix.SchedGetAttr(tid, 0); a == nil || a.Policy != unix.SCHED_IDLE {
		t.Fatalf("policy %+v, want SCHED_IDLE", a)
	}
	if !lw.restore() {
		t.Fatal("restore failed")
	}
	if a, _ := unix.SchedGetAttr(tid, 0); a == nil || a.Policy != before.Policy || a.Nice != before.Nice {
		t.Fatalf("policy %+v after restore, want %+v", a, before)
	}
}

// TestServesECDSAAndRSA: with an ECDSA and an RSA certificate, a client
// that can use ECDSA gets it, one that can only use RSA gets that.
func TestServesECDSAAndRSA(t *testing.T) {
	p := newPKI(t)
	rsaCert, _ := p.ca.issue(t, leafOpts{cn: "localhost", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ips: []net.IP{net.IPv4(127, 0, 0, 1)}, dns: []string{"localhost"}, rsa: true})
	rc, rk := writePair(t, p.dir, "server-rsa", rsaCert)
	r := startRig(t, p, func(c *Config) { c.MoreCerts = []CertPair{{rc, rk}} })
	for _, tc := range []struct {
		suite uint16
		want  x509.PublicKeyAlgorithm
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, x509.ECDSA},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, x509.RSA},
	} {
		cfg := r.clientConfig(&p.partner)
		cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, []uint16{tc.suite}
		c, err := tls.Dial("tcp", r.addr, cfg)
		if err != nil {
			t.Fatalf("%v client: %v", tc.want, err)
		}
		if got := c.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm; got != tc.want {
			t.Errorf("client that takes %v got a %v certificate", tc.want, got)
		}
		echo(t, c, "hi")
		c.Close()
	}
	cfg := r.clientConfig(&p.partner) // TLS 1.3, both usable: the first pair
	c, err := tls.Dial("tcp", r.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm; got != x509.ECDSA {
		t.Errorf("TLS 1.3 client got %v, want the first (ECDSA) certificate", got)
	}
	c.Close()
}

// TestGateLetsGoAfterHandshake: a handshake whose last act was a write
// (TLS 1.2's server Finished) leaves the connection ungated: forwarding,
// which reads and writes it from two goroutines, never takes a token.
func TestGateLetsGoAfterHandshake(t *testing.T) {
	g := newCPUGate(1, false)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := &gated{g: g, stop: make(chan struct{})}
	br := bufio.NewReader(a)
	c := &gatedConn{sniffedConn: &sniffedConn{Conn: a, r: br}, br: br, s: s, deadline: time.Now().Add(time.Minute)}
	if !s.acquire(time.Now().Add(time.Second)) {
		t.Fatal("no token from an idle gate")
	}
	go io.ReadAll(b)
	c.Write([]byte("server finished"))
	if len(g.tokens) != 0 {
		t.Fatal("token kept while writing")
	}
	s.finish()
	go b.Write([]byte("forwarded"))
	if _, err := c.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if len(g.tokens) != 0 || s.held {
		t.Error("a read after the handshake took a token")
	}
}
