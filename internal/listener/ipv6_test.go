package listener

import (
	"net"
	"strings"
	"testing"
)

// TestIPv6Peer: a failure from ::1 is reported and logged with the IPv6
// address.
func TestIPv6Peer(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, nil)
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	go r.l.Serve(ln)
	rawClient(t, ln.Addr().String(), []byte("GET / HTTP/1.0\r\n\r\n"), false)
	fs := r.settle()
	if len(fs) != 1 || fs[0].Addr.String() != "::1" || fs[0].Code != CodeHTTPRequest {
		t.Fatalf("got %+v", fs)
	}
	if want := "during connect try from ::1: http request. ["; !strings.Contains(fs[0].Line, want) {
		t.Errorf("line %q lacks %q", fs[0].Line, want)
	}
}
