package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/listener"
)

const groupListener = "5. listener under attack (loopback)"

// Listener measures the first half of figure 5: how many failing
// handshakes per second the listener absorbs on loopback, clients without
// a certificate running on the same two CPUs.
func Listener(ctx context.Context, r *Report) error {
	dir, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pki, err := writePKI(dir, net.IPv4(127, 0, 0, 1))
	if err != nil {
		return err
	}
	var failures atomic.Int64
	l, err := listener.New(listener.Config{
		CertFile: pki.cert, KeyFile: pki.key, ClientCAFile: pki.ca,
		BackendAddr: "127.0.0.1:9", // never reached: no handshake succeeds
		// Every client comes from 127.0.0.1: lift the per-source limit so
		// the figure counts handshakes, not limit refusals.
		MaxHandshakesPerSource: 1024,
		OnFailure:              func(event.Failure) { failures.Add(1) },
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go l.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.Shutdown(sctx)
	}()

	const clients, dur = 16, 3 * time.Second
	addr := ln.Addr().String()
	cfg := &tls.Config{InsecureSkipVerify: true} // no client certificate: the attacker
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	var attempts atomic.Int64
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				attempts.Add(1)
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, cfg)
				if err != nil {
					continue
				}
				// TLS 1.3: the server's verdict on the missing certificate
				// comes after the client finished; wait for it.
				c.SetReadDeadline(time.Now().Add(time.Second))
				c.Read(make([]byte, 1))
				c.Close()
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	time.Sleep(200 * time.Millisecond) // the last failures are reported after close
	n := float64(failures.Load())
	r.Add(Figure{Group: groupListener, Name: "failing handshakes absorbed (no client cert, 16 clients)", Value: n / el, Unit: "handshakes/s"})
	r.Note("listener: TLS clients and listener share the machine's CPUs on loopback, so the figure is a lower bound; %d attempts, %d failures reported in %.1f s", attempts.Load(), int64(n), el)
	return nil
}

// writePKI writes a CA, a server certificate for serverIP and a partner's
// client certificate, both signed by the CA.
func writePKI(dir string, serverIP net.IP) (labPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return labPKI{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xdpbench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return labPKI{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return labPKI{}, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (certDER, keyDER []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if certDER, err = x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey); err != nil {
			return nil, nil, err
		}
		keyDER, err = x509.MarshalECPrivateKey(key)
		return certDER, keyDER, err
	}
	srvDER, srvKey, err := leaf(2, "xdpbench server", x509.ExtKeyUsageServerAuth, []net.IP{serverIP})
	if err != nil {
		return labPKI{}, err
	}
	cliDER, cliKey, err := leaf(3, "xdpbench partner", x509.ExtKeyUsageClientAuth, nil)
	if err != nil {
		return labPKI{}, err
	}
	pki := labPKI{cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server.key"), ca: filepath.Join(dir, "ca.pem")}
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{pki.cert, "CERTIFICATE", srvDER}, {pki.key, "EC PRIVATE KEY", srvKey}, {pki.ca, "CERTIFICATE", caDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return labPKI{}, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	clientKey, err := x509.ParseECPrivateKey(cliKey)
	if err != nil {
		return labPKI{}, err
	}
	pki.partner = &tls.Config{
		RootCAs:      pool,
		ServerName:   serverIP.String(),
		Certificates: []tls.Certificate{{Certificate: [][]byte{cliDER}, PrivateKey: clientKey}},
	}
	return pki, nil
}
