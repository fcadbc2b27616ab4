package listener

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// aeadSuites are the TLS 1.2 suites offered: ECDHE for forward secrecy,
// AEAD only. TLS 1.3's suites are all AEAD and not configurable in Go.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// errVerify marks a client certificate that failed our checks after Go's
// chain verification (revoked, no CRL, not allowed). Name is set only when
// the chain itself verified, i.e. the name is from our CA.
type errVerify struct {
	reason string
	name   string
}

func (e *errVerify) Error() string { return "verify client certificate: " + e.reason }

// loadTLSConfig reads certificate, key, CA bundle and CRLs and builds the
// server config. Go verifies the chain against the CA bundle with the
// clientAuth extended key usage (RequireAndVerifyClientCert); checkPeer then
// adds revocation and the allow-lists.
func loadTLSConfig(c Config) (*tls.Config, error) {
	var certs []tls.Certificate
	for _, pair := range append([]CertPair{{c.CertFile, c.KeyFile}}, c.MoreCerts...) {
		cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load server certificate %s: %w", pair.CertFile, err)
		}
		certs = append(certs, cert)
	}
	caPEM, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("read client ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("read client ca %s: no certificates", c.ClientCAFile)
	}
	var crls *crlSet
	if c.CRLFile != "" {
		if crls, err = loadCRLs(c.CRLFile); err != nil {
			return nil, err
		}
	}
	chk := &peerChecker{crls: crls, allowCN: c.AllowCN, allowSAN: c.AllowSAN, now: time.Now}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites,
		Certificates: certs,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		// Every connection proves its certificate again, so a reloaded CRL
		// or CA bundle applies to partners that had a session before.
		SessionTicketsDisabled: true,
		VerifyPeerCertificate:  chk.check,
	}, nil
}

// peerChecker holds what Go's verification does not check.
type peerChecker struct {
	crls              *crlSet
	allowCN, allowSAN []string
	now               func() time.Time
}

// check runs after Go verified at least one chain to our CA bundle.
func (p *peerChecker) check(_ [][]byte, chains [][]*x509.Certificate) error {
	if len(chains) == 0 || len(chains[0]) == 0 {
		return &errVerify{reason: "no verified chain"}
	}
	leaf := chains[0][0]
	if p.crls != nil {
		var errs []error
		for _, chain := range chains {
			issuer := leaf
			if len(chain) > 1 {
				issuer = chain[1]
			}
			err := p.crls.check(leaf, issuer, p.now())
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return &errVerify{reason: errors.Join(errs...).Error()}
		}
	}
	if !p.allowed(leaf) {
		return &errVerify{reason: "partner not in allow-list", name: partnerName(leaf)}
	}
	return nil
}

func (p *peerChecker) allowed(leaf *x509.Certificate) bool {
	if len(p.allowCN) == 0 && len(p.allowSAN) == 0 {
		return true
	}
	if leaf.Subject.CommonName != "" && slices.Contains(p.allowCN, leaf.Subject.CommonName) {
		return true
	}
	sans := slices.Concat(leaf.DNSNames, leaf.EmailAddresses)
	for _, ip := range leaf.IPAddresses {
		sans = append(sans, ip.String())
	}
	for _, u := range leaf.URIs {
		sans = append(sans, u.String())
	}
	for _, s := range sans {
		if slices.Contains(p.allowSAN, s) {
			return true
		}
	}
	return false
}

// partnerName is what a log line shows for a verified certificate.
func partnerName(leaf *x509.Certificate) string {
	switch {
	case leaf.Subject.CommonName != "":
		return leaf.Subject.CommonName
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0]
	case len(leaf.EmailAddresses) > 0:
		return leaf.EmailAddresses[0]
	}
	return ""
}

// pemOrDER returns the DER blocks of type typ in data, or data itself when
// it is not PEM.
func pemOrDER(data []byte, typ string) [][]byte {
	var out [][]byte
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == typ {
			out = append(out, b.Bytes)
		}
	}
	if len(out) == 0 {
		out = append(out, data)
	}
	return out
}
