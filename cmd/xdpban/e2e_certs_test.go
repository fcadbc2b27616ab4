package main

import (
	"net"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// e2ePKI is one test's certificates (testutil.PKI): the server certificate
// covers the lab's server addresses and loopback.
type e2ePKI struct {
	*testutil.PKI
}

func newE2EPKI(t *testing.T) *e2ePKI {
	t.Helper()
	p, err := testutil.NewPKI(t.TempDir(), net.ParseIP("198.18.0.1"), net.ParseIP("2001:db8::1"), net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	return &e2ePKI{p}
}

// listenerFlags are the run flags of a TLS listener on addr with this PKI,
// forwarding to backend.
func (p *e2ePKI) listenerFlags(addr, backend string) []string { return p.ListenerFlags(addr, backend) }
