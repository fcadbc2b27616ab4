package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
)

// pki is one test's certificates, written as files the listener reads.
type pki struct {
	dir               string
	ca                *testCA
	certFile, keyFile string
	caFile            string
	partner           tls.Certificate
	serverPool        *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	p := &pki{dir: t.TempDir(), ca: newCA(t, "xdpban test CA")}
	srv, _ := p.ca.issue(t, leafOpts{cn: "localhost", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		dns: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}})
	p.certFile, p.keyFile = writePair(t, p.dir, "server", srv)
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writeFile(t, p.caFile, p.ca.pem)
	p.partner, _ = p.ca.issue(t, leafOpts{cn: "ACME GmbH", eku: clientEKU})
	p.serverPool = x509.NewCertPool()
	p.serverPool.AddCert(p.ca.cert)
	return p
}

// rig is a running listener with an echo backend, a fail2ban log, and the
// failures it reported.
type rig struct {
	t       *testing.T
	p       *pki
	l       *Listener
	addr    string
	logPath string
	w       *f2blog.Writer

	mu       sync.Mutex
	failures []event.Failure
	shutDown bool
}

func startRig(t *testing.T, p *pki, tweak func(*Config)) *rig {
	t.Helper()
	backend := startEcho(t)
	r := &rig{t: t, p: p, logPath: filepath.Join(t.TempDir(), "fail2ban.log")}
	w, err := f2blog.OpenWriter(r.logPath, f2blog.TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	cfg := Config{
		CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile,
		BackendAddr: backend,
		OnFailure: func(f event.Failure) {
			line, err := w.Log(f)
			if err != nil {
				t.Error(err)
			}
			f.Line = line
			r.mu.Lock()
			r.failures = append(r.failures, f)
			r.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.l, r.addr = l, ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- l.Serve(ln) }()
	t.Cleanup(func() {
		r.shutdown()
		if err := <-done; err != ErrClosed {
			t.Errorf("serve: %v", err)
		}
		w.Close()
	})
	return r
}

// shutdown drains the listener: after it, every handler has finished, so
// the failures are complete and can be counted exactly.
func (r *rig) shutdown() {
	r.mu.Lock()
	if r.shutDown {
		r.mu.Unlock()
		return
	}
	r.shutDown = true
	r.mu.Unlock()
	// The deadline is only a failsafe against a hung test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.l.Shutdown(ctx); err != nil {
		r.t.Errorf("shutdown: %v", err)
	}
}

// settle shuts down and returns all failures.
func (r *rig) settle() []event.Failure {
	r.shutdown()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Failure(nil), r.failures...)
}

// clientConfig trusts the rig's server and presents cert (nil: none).
func (r *rig) clientConfig(cert *tls.Certificate) *tls.Config {
	c := &tls.Config{RootCAs: r.p.serverPool, ServerName: "localhost"}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// startEcho runs a backend that echoes and passes half-close on.
func startEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}
