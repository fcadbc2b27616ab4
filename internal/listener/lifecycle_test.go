package listener

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/xdpban/xdpban/internal/event"
)

// dialPartner opens a forwarded connection and checks one echo.
func dialPartner(t *testing.T, r *rig, cert *tls.Certificate) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", r.addr, r.clientConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	echo(t, c, "first")
	return c
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo %q: %q %v", msg, buf, err)
	}
}

// TestOverLimitClosedAndCounted: over its own source's limit a
// connection is closed and counted; over the global limit, with no silent
// holder to evict, it is closed and not counted: not its doing.
func TestOverLimitClosedAndCounted(t *testing.T) {
	p := newPKI(t)
	for name, tc := range map[string]struct {
		tweak   func(*Config)
		counted bool
	}{
		"per source": {func(c *Config) { c.MaxHandshakesPerSource = 1 }, true},
		"overall":    {func(c *Config) { c.MaxHandshakes = 1 }, false},
	} {
		t.Run(name, func(t *testing.T) {
			var refused atomic.Int32
			r := startRig(t, p, func(c *Config) {
				tc.tweak(c)
				c.OnRefused = func(peer netip.Addr, why Refusal) {
					if peer.String() == "127.0.0.1" && why == RefusedBusy {
						refused.Add(1)
					}
				}
			})
			hold, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			waitHandshakes(t, r.l, 1)
			hold.Write(partialHello)                  // sent a byte: never a scan
			rawClient(t, r.addr, partialHello, false) // returns when the server closed it
			hold.Close()
			if !tc.counted {
				fs := r.settle()
				if len(fs) != 1 || fs[0].Code == CodeOverLimit {
					t.Errorf("want only the holder's failure, got %+v", fs)
				}
				if refused.Load() != 1 {
					t.Errorf("%d refusals reported, want 1", refused.Load())
				}
				return
			}
			fs := r.settle()
			over := 0
			for _, f := range fs {
				if f.Code == CodeOverLimit {
					over++
				}
			}
			if over != 1 || refused.Load() != 0 {
				t.Errorf("failures %+v, refusals %d; want one over-limit failure", fs, refused.Load())
			}
		})
	}
}

func TestCloseHandshakesOnBan(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, nil)
	partner := dialPartner(t, r, &p.partner)
	pending, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	pending.Write(partialHello)
	waitHandshakes(t, r.l, 1)
	if n := r.l.CloseHandshakes(netip.MustParsePrefix("10.0.0.0/8")); n != 0 {
		t.Errorf("closed %d handshakes outside the prefix", n)
	}
	if n := r.l.CloseHandshakes(netip.MustParsePrefix("::ffff:127.0.0.1/128")); n != 1 {
		t.Fatalf("closed %d handshakes", n)
	}
	if _, err := io.Copy(io.Discard, pending); err != nil {
		t.Logf("pending ended with %v", err)
	}
	echo(t, partner, "still here")
	partner.Close()
	expectOne(t, r, CodeBanAborted)
}

func TestReloadKeepsEstablished(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, nil)
	old := dialPartner(t, r, &p.partner)

	// Rotate to a new client CA: old partners' certificates stop working
	// for new connections, the established one goes on.
	newCA := newCA(t, "next CA")
	writeFile(t, p.caFile, newCA.pem)
	if err := r.l.Reload(); err != nil {
		t.Fatal(err)
	}
	next, _ := newCA.issue(t, leafOpts{cn: "Next", eku: clientEKU})
	dialPartner(t, r, &next).Close()
	echo(t, old, "after reload")
	stale := r.clientConfig(nil)
	stale.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &p.partner, nil }
	if err := goClient(r.addr, stale); err == nil {
		t.Error("old CA still accepted after reload")
	}

	// A broken file is refused and the running config stays.
	writeFile(t, p.caFile, []byte("not pem"))
	if err := r.l.Reload(); err == nil {
		t.Error("reload accepted a broken CA file")
	}
	dialPartner(t, r, &next).Close()
	old.Close()
	expectOne(t, r, CodeVerifyFailed)
}

func TestShutdownDrainsThenForces(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, nil)
	c := dialPartner(t, r, &p.partner)
	done := make(chan error, 1)
	go func() { done <- r.l.Shutdown(context.Background()) }()
	// Draining: the partner is still served while Shutdown waits.
	echo(t, c, "draining")
	select {
	case err := <-done:
		t.Fatalf("shutdown returned %v with a partner connected", err)
	default:
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	r2 := startRig(t, p, nil)
	c2 := dialPartner(t, r2, &p.partner)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r2.l.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("forced shutdown: %v", err)
	}
	if _, err := io.ReadAll(c2); err != nil {
		t.Logf("forced close seen as %v", err)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, func(c *Config) { c.IdleTimeout = 100e6 })
	c := dialPartner(t, r, &p.partner)
	// Nothing is sent: the listener closes both sides, the client sees the
	// end of the stream instead of hanging.
	if _, err := io.ReadAll(c); err != nil {
		t.Logf("idle close seen as %v", err)
	}
	if fs := r.settle(); len(fs) != 0 {
		t.Errorf("idle partner counted as failure: %+v", fs)
	}
}

func TestBackendProxyProtocol(t *testing.T) {
	p := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *proxyproto.Header, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		pc := proxyproto.NewConn(c)
		h := pc.ProxyHeader()
		got <- h
		io.Copy(pc, pc)
	}()
	r := startRig(t, p, func(c *Config) {
		c.BackendAddr = ln.Addr().String()
		c.BackendProxyProtocol = true
	})
	c := dialPartner(t, r, &p.partner)
	h := <-got
	if h == nil || h.Version != 2 || h.SourceAddr.String() != c.LocalAddr().String() || h.DestinationAddr.String() != r.addr {
		t.Fatalf("header %+v, client %v, listener %v", h, c.LocalAddr(), r.addr)
	}
	c.Close()
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("empty config accepted")
	}
	p := newPKI(t)
	os.WriteFile(p.keyFile, []byte("junk"), 0o600)
	if _, err := New(Config{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, BackendAddr: "127.0.0.1:1", OnFailure: func(event.Failure) {}}); err == nil {
		t.Error("broken key accepted")
	}
}
