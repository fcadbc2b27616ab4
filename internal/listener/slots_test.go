package listener

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestSilentHolderCounts: a connection that closes at once without a
// byte is a scan (not counted); one that sat silent past the grace held
// a slot and counts, as an unexpected EOF.
func TestSilentHolderCounts(t *testing.T) {
	p := newPKI(t)
	// A grace and a timeout long enough for a loaded machine: the close
	// at once must be read within the grace, the silent holder's close
	// before the timeout.
	r := startRig(t, p, func(c *Config) { c.HandshakeTimeout = 3 * time.Second })
	grace := r.l.hs.grace
	if grace != 750*time.Millisecond {
		t.Fatalf("grace %v for a 3s handshake timeout", grace)
	}
	rawClient(t, r.addr, nil, true) // connect and close at once
	waitHandshakes(t, r.l, 0)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	waitHandshakes(t, r.l, 1)
	time.Sleep(grace + 100*time.Millisecond) // the condition under test is time itself
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	c.Close()
	expectOne(t, r, CodeUnexpectedEOF)
}

// TestEvictionLetsPartnerIn: with every slot held by silent connections,
// a partner evicts the oldest one that has been silent past the grace,
// is served, and is never counted; the evicted holder is.
func TestEvictionLetsPartnerIn(t *testing.T) {
	p := newPKI(t)
	// The longest grace (1s) and time to spare: the holders must still be
	// in handshake when the test closes them, after the partner's.
	r := startRig(t, p, func(c *Config) {
		c.HandshakeTimeout = 10 * time.Second
		c.MaxHandshakes = 3 // 2 for unknown sources, 1 reserved for known partners
	})
	var holders []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		holders = append(holders, c)
	}
	waitHandshakes(t, r.l, 2)
	time.Sleep(r.l.hs.grace) // both holders are now evictable
	partner := dialPartner(t, r, &p.partner)
	echo(t, partner, "through")
	partner.Close()
	// The oldest holder was closed by the server.
	evicted := 0
	for _, h := range holders {
		h.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := h.Read(make([]byte, 1)); err == io.EOF {
			evicted++
		}
		h.Close()
	}
	if evicted != 1 {
		t.Errorf("%d holders evicted, want 1", evicted)
	}
	fs := r.settle()
	timeouts := 0
	for _, f := range fs {
		if f.Code == CodeTimeout {
			timeouts++
		}
	}
	// The other holder closed after the grace: an EOF failure of its own.
	if len(fs) != 2 || timeouts != 1 {
		t.Errorf("failures %+v; want the evicted holder's timeout and the other's EOF", fs)
	}
}
