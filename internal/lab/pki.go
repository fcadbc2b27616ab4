package lab

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a throw-away certificate authority for a lab: a CA, a server
// certificate (files, for `xdpban run --cert/--key/--client-ca`) and a
// partner's client certificate (in memory, for Go clients). Nothing is
// committed as a key file; every test and benchmark makes its own.
type PKI struct {
	CAFile, CertFile, KeyFile string
	Pool                      *x509.CertPool // trusts the CA
	Partner                   tls.Certificate
}

// PartnerName is the subject CN of the partner certificate.
const PartnerName = "ACME GmbH"

// NewPKI writes ca.pem, server.pem and server.key into dir; the server
// certificate (ECDSA P-256) is valid for serverIPs.
func NewPKI(dir string, serverIPs ...net.IP) (*PKI, error) {
	return newPKI(dir, false, serverIPs)
}

// NewRSAPKI is NewPKI with an RSA-2048 server key, for comparing the
// cost of the server's signature.
func NewRSAPKI(dir string, serverIPs ...net.IP) (*PKI, error) {
	return newPKI(dir, true, serverIPs)
}

func newPKI(dir string, rsaServer bool, serverIPs []net.IP) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xdpban lab CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &PKI{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server.key"),
		Pool: x509.NewCertPool(),
	}
	p.Pool.AddCert(ca)
	server, err := issue(ca, caKey, 2, "xdpban lab server", x509.ExtKeyUsageServerAuth, serverIPs, rsaServer)
	if err != nil {
		return nil, err
	}
	if p.Partner, err = issue(ca, caKey, 3, PartnerName, x509.ExtKeyUsageClientAuth, nil, false); err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{p.CAFile, "CERTIFICATE", caDER}, {p.CertFile, "CERTIFICATE", server.Certificate[0]}, {p.KeyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PartnerConfig is a client configuration presenting the partner's
// certificate to a server at serverName.
func (p *PKI) PartnerConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: p.Pool, ServerName: serverName, Certificates: []tls.Certificate{p.Partner}}
}

// ListenerFlags are the `xdpban run` flags of a TLS listener on addr with
// this PKI, forwarding to backend.
func (p *PKI) ListenerFlags(addr, backend string) []string {
	return []string{"--listen", addr, "--cert", p.CertFile, "--key", p.KeyFile, "--client-ca", p.CAFile, "--backend", backend}
}

func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, cn string, eku x509.ExtKeyUsage, ips []net.IP, rsaKey bool) (tls.Certificate, error) {
	var key crypto.Signer
	var err error
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{eku}, IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue %s: %w", cn, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
