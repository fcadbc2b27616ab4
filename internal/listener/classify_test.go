package listener

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/f2blog"
)

// expectOne checks that exactly one failure with code came from 127.0.0.1
// and that it is the only line of the log, parsing back to the same.
func expectOne(t *testing.T, r *rig, code uint32) {
	t.Helper()
	fs := r.settle()
	if len(fs) != 1 {
		t.Fatalf("want 1 failure with code %d, got %d: %+v", code, len(fs), fs)
	}
	f := fs[0]
	if f.Code != code || f.Message != Message(code) || f.Addr.String() != "127.0.0.1" || f.Source != "listener" {
		t.Errorf("got %+v, want code %d", f, code)
	}
	data, err := os.ReadFile(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 || lines[0] != f.Line {
		t.Fatalf("log %q, event line %q", lines, f.Line)
	}
	back, err := f2blog.Parse(lines[0])
	if err != nil || back.Code != code || back.Addr != f.Addr {
		t.Errorf("line %q parses as %+v %v", lines[0], back, err)
	}
}

// goClient runs a handshake with cfg and reads once, so a server-side
// rejection after the client's Finished (TLS 1.3) is seen, then closes.
func goClient(addr string, cfg *tls.Config) error {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Write([]byte("ping"))
	_, err = c.Read(make([]byte, 4))
	return err
}

func TestGoodPartnerIsForwarded(t *testing.T) {
	p := newPKI(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		r := startRig(t, p, nil)
		cfg := r.clientConfig(&p.partner)
		cfg.MinVersion, cfg.MaxVersion = v, v
		c, err := tls.Dial("tcp", r.addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Half-close: the backend sees EOF and answers after it.
		c.Write([]byte("hello oftp2"))
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "hello oftp2" {
			t.Errorf("version %x: echo %q %v", v, got, err)
		}
		if fs := r.settle(); len(fs) != 0 {
			t.Errorf("good partner produced %+v", fs)
		}
	}
}

func TestGoClientFailureClasses(t *testing.T) {
	p := newPKI(t)
	other := newCA(t, "other CA")
	foreign, _ := other.issue(t, leafOpts{cn: "Foreign", eku: clientEKU})
	expired, _ := p.ca.issue(t, leafOpts{cn: "Old", eku: clientEKU, notAfter: time.Now().Add(-time.Hour)})
	serverOnly, _ := p.ca.issue(t, leafOpts{cn: "Wrong EKU", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cases := []struct {
		name  string
		code  uint32
		setup func(*tls.Config)
	}{
		{"no client cert tls13", CodeNoClientCert, func(c *tls.Config) { c.Certificates = nil }},
		{"no client cert tls12", CodeNoClientCert, func(c *tls.Config) { c.Certificates = nil; c.MaxVersion = tls.VersionTLS12 }},
		// Go's client would send no certificate that does not match the server's
		// list of CAs; an attacker's client sends it anyway.
		{"unknown ca", CodeVerifyFailed, func(c *tls.Config) {
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil }
		}},
		{"expired", CodeVerifyFailed, func(c *tls.Config) { c.Certificates = []tls.Certificate{expired} }},
		{"server-only usage", CodeVerifyFailed, func(c *tls.Config) { c.Certificates = []tls.Certificate{serverOnly} }},
		{"tls 1.1", CodeUnsupportedVersion, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }},
		{"cbc only", CodeNoSharedCipher, func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		}},
		{"client rejects server (bad certificate alert)", CodeAlert(42), func(c *tls.Config) { c.RootCAs = x509.NewCertPool() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRig(t, p, nil)
			cfg := r.clientConfig(&p.partner)
			tc.setup(cfg)
			if err := goClient(r.addr, cfg); err == nil {
				t.Fatal("handshake succeeded")
			}
			expectOne(t, r, tc.code)
		})
	}
}

func TestRevokedPartner(t *testing.T) {
	p := newPKI(t)
	revoked, rc := p.ca.issue(t, leafOpts{cn: "Revoked", eku: clientEKU})
	crlFile := p.dir + "/ca.crl"
	writeFile(t, crlFile, p.ca.crl(t, rc.SerialNumber))
	r := startRig(t, p, func(c *Config) { c.CRLFile = crlFile })
	if err := goClient(r.addr, r.clientConfig(&revoked)); err == nil {
		t.Fatal("revoked partner accepted")
	}
	// A partner that is not revoked still gets in with the CRL in force.
	if err := goClient(r.addr, r.clientConfig(&p.partner)); err != nil {
		t.Fatalf("good partner with crl: %v", err)
	}
	expectOne(t, r, CodeVerifyFailed)
}

func TestStaleCRLFailsClosed(t *testing.T) {
	p := newPKI(t)
	other := newCA(t, "other CA")
	crlFile := p.dir + "/other.crl"
	writeFile(t, crlFile, other.crl(t)) // no CRL from our CA at all
	r := startRig(t, p, func(c *Config) { c.CRLFile = crlFile })
	if err := goClient(r.addr, r.clientConfig(&p.partner)); err == nil {
		t.Fatal("accepted without a CRL for the issuer")
	}
	expectOne(t, r, CodeVerifyFailed)
}

func TestAllowList(t *testing.T) {
	p := newPKI(t)
	bySAN, _ := p.ca.issue(t, leafOpts{cn: "Other", eku: clientEKU, dns: []string{"oftp.partner.example"}})
	r := startRig(t, p, func(c *Config) {
		c.AllowCN = []string{"ACME GmbH"}
		c.AllowSAN = []string{"oftp.partner.example"}
	})
	if err := goClient(r.addr, r.clientConfig(&p.partner)); err != nil {
		t.Errorf("allowed CN: %v", err)
	}
	if err := goClient(r.addr, r.clientConfig(&bySAN)); err != nil {
		t.Errorf("allowed SAN: %v", err)
	}
	denied, _ := p.ca.issue(t, leafOpts{cn: "Stranger Ltd", eku: clientEKU})
	if err := goClient(r.addr, r.clientConfig(&denied)); err == nil {
		t.Fatal("stranger accepted")
	}
	expectOne(t, r, CodeVerifyFailed)
	if fs := r.settle(); fs[0].Name != "Stranger Ltd" || !strings.Contains(fs[0].Line, "from 127.0.0.1 (Stranger Ltd): ") {
		t.Errorf("name not logged: %+v", fs[0])
	}
}

// rawClient sends data (nil: nothing), optionally half-closes, and waits
// for the server to close.
func rawClient(t *testing.T, addr string, data []byte, closeWrite bool) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if data != nil {
		c.Write(data)
	}
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	io.Copy(io.Discard, c)
}

// partialHello is the start of a TLS ClientHello record.
var partialHello = []byte{0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03}

func TestRawFailureClasses(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name       string
		data       []byte
		closeWrite bool
		code       uint32
		tweak      func(*Config)
	}{
		{"plain http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, CodeHTTPRequest, nil},
		{"http connect", []byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), false, CodeProxyRequest, nil},
		{"ssh banner", []byte("SSH-2.0-OpenSSH_9.2\r\n"), false, CodeNotTLS, nil},
		{"binary garbage", []byte{0, 1, 2, 3, 4}, false, CodeNotTLS, nil},
		{"garbage shorter than a record header", []byte{0, 1, 2}, true, CodeUnexpectedEOF, nil},
		{"sslv2 hello", sslv2Hello(0x0002), false, CodeUnknownProtocol, nil},
		{"eof inside hello", partialHello, true, CodeUnexpectedEOF, nil},
		{"scan counted", nil, true, CodeUnexpectedEOF, func(c *Config) { c.CountScans = true }},
		{"silent until timeout", nil, false, CodeTimeout, func(c *Config) { c.HandshakeTimeout = 200 * time.Millisecond }},
		{"stalled hello until timeout", partialHello, false, CodeTimeout, func(c *Config) { c.HandshakeTimeout = 200 * time.Millisecond }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startRig(t, p, tc.tweak)
			rawClient(t, r.addr, tc.data, tc.closeWrite)
			expectOne(t, r, tc.code)
		})
	}
}

func TestScanNotCountedByDefault(t *testing.T) {
	r := startRig(t, newPKI(t), nil)
	rawClient(t, r.addr, nil, true)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	waitHandshakes(t, r.l, 1)
	c.(*net.TCPConn).SetLinger(0) // connect scan: close with RST
	c.Close()
	if fs := r.settle(); len(fs) != 0 {
		t.Errorf("scan counted: %+v", fs)
	}
}

func TestResetDuringHandshake(t *testing.T) {
	r := startRig(t, newPKI(t), nil)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(partialHello)
	waitHandshakes(t, r.l, 1)
	c.(*net.TCPConn).SetLinger(0) // close with RST
	c.Close()
	expectOne(t, r, CodeReset)
}

// waitHandshakes waits until n connections are registered in handshake.
// It polls a condition; the deadline is only a failsafe.
func waitHandshakes(t *testing.T, l *Listener, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		l.hs.mu.Lock()
		got := len(l.hs.live)
		l.hs.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("never saw %d handshakes", n)
}
