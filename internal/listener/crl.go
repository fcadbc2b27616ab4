package listener

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// crlSet is the CRLs of one file, by issuer.
type crlSet struct {
	byIssuer map[string][]*x509.RevocationList
}

func loadCRLs(path string) (*crlSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read crl: %w", err)
	}
	s := &crlSet{byIssuer: map[string][]*x509.RevocationList{}}
	for _, der := range pemOrDER(data, "X509 CRL") {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("parse crl %s: %w", path, err)
		}
		s.byIssuer[string(crl.RawIssuer)] = append(s.byIssuer[string(crl.RawIssuer)], crl)
	}
	return s, nil
}

// check fails when leaf is revoked, or when no CRL signed by its issuer is
// current: with a CRL file configured, a missing or stale CRL fails closed,
// as OpenSSL's CRL check does, rather than letting revoked partners in.
func (s *crlSet) check(leaf, issuer *x509.Certificate, now time.Time) error {
	var current *x509.RevocationList
	for _, crl := range s.byIssuer[string(leaf.RawIssuer)] {
		if crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if now.Before(crl.ThisUpdate) || (!crl.NextUpdate.IsZero() && now.After(crl.NextUpdate)) {
			continue
		}
		current = crl
		break
	}
	if current == nil {
		return errors.New("no current crl for issuer")
	}
	for _, r := range current.RevokedCertificateEntries {
		if r.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			return errors.New("certificate revoked")
		}
	}
	return nil
}
