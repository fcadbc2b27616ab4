package bench

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/xdpban/xdpban/internal/lab"
)

// The daemon lab: the server side s0 holds 198.18.0.1/16 and runs `xdpban
// run`; the client side a0 holds the partner 198.18.0.2 and the attackers
// 198.18.1.x. Flood sources 198.19.x.y are routed back through the client
// side, whose stack drops the replies (they are not its addresses).
var (
	labServer  = netip.MustParseAddr("198.18.0.1")
	labPartner = netip.MustParseAddr("198.18.0.2")
)

const labPort = 6619

// attackerAddr is the i-th attacker of the ban latency figure (i < 250).
func attackerAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 1, byte(1 + i)}) }

// newLab creates the two namespaces of the daemon lab with attackers
// addresses on the client side. Close deletes both.
func newLab(ctx context.Context, attackers int) (*pair, error) {
	return createPair(ctx, func(p *pair) [][]string {
		cmds := [][]string{
			{"ip", "-n", p.A, "addr", "add", labPartner.String() + "/16", "dev", p.AIf},
			{"ip", "-n", p.S, "addr", "add", labServer.String() + "/16", "dev", p.SIf},
			{"ip", "-n", p.S, "route", "add", "198.19.0.0/16", "via", labPartner.String()},
		}
		for i := range attackers {
			cmds = append(cmds, []string{"ip", "-n", p.A, "addr", "add", attackerAddr(i).String() + "/16", "dev", p.AIf})
		}
		return cmds
	})
}

// buildXdpban builds the daemon into dir.
func buildXdpban(ctx context.Context, r *Report, figure, dir string) (string, error) {
	r.Progress("%s: building xdpban", figure)
	bin := filepath.Join(dir, "xdpban")
	if err := sh(ctx, "", nil, "go", "build", "-o", bin, "./cmd/xdpban"); err != nil {
		return "", err
	}
	return bin, nil
}

// labKit is what every figure that runs `xdpban run` in the lab needs: a
// scratch directory, xdpban built into it, a PKI for the lab server and
// the partner's client configuration.
type labKit struct {
	dir, bin string
	pki      *lab.PKI
	partner  *tls.Config
}

// newLabKit makes the kit for figure; remove deletes its directory.
func newLabKit(ctx context.Context, r *Report, figure string) (*labKit, error) {
	dir, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return nil, err
	}
	k := &labKit{dir: dir}
	if k.bin, err = buildXdpban(ctx, r, figure, dir); err == nil {
		k.pki, err = lab.NewPKI(dir, labServer.AsSlice())
	}
	if err != nil {
		k.remove()
		return nil, err
	}
	k.partner = k.pki.PartnerConfig(labServer.String())
	return k, nil
}

func (k *labKit) remove() { os.RemoveAll(k.dir) }

// probe opens a bare TCP connection from src in namespace ns to the lab
// server's port: false when the SYN got no answer within timeout.
func probe(ns string, src netip.Addr, timeout time.Duration) (bool, error) {
	ok := false
	err := inNS(ns, func() error { ok = connects(src, timeout); return nil })
	return ok, err
}

// connects is probe from a thread already in the client namespace.
func connects(src netip.Addr, timeout time.Duration) bool {
	dl := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := dl.Dial("tcp", netip.AddrPortFrom(labServer, labPort).String())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// echoBackend listens in the server namespace on loopback and echoes.
// The listener's socket stays in that namespace; closing it ends the loop.
func echoBackend(ns string) (net.Listener, error) {
	var ln net.Listener
	err := inNS(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		return nil, err
	}
	lab.AcceptLoop(ln, func(c net.Conn) {
		// Long enough for a session opened before a whole flood condition.
		c.SetDeadline(time.Now().Add(time.Minute))
		io.Copy(c, c)
	})
	return ln, nil
}
