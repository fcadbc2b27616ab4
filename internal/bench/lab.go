package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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
	s := randomSuffix()
	p := &pair{A: namePrefix + "a-" + s, S: namePrefix + "s-" + s, AIf: "a0", SIf: "s0", AMAC: benchMAC1, SMAC: benchMAC2}
	cmds := [][]string{
		{"ip", "netns", "add", p.A},
		{"ip", "netns", "add", p.S},
		{"ip", "link", "add", p.AIf, "netns", p.A, "address", p.AMAC.String(), "type", "veth", "peer", "name", p.SIf, "netns", p.S, "address", p.SMAC.String()},
		{"ip", "-n", p.A, "addr", "add", labPartner.String() + "/16", "dev", p.AIf},
		{"ip", "-n", p.A, "link", "set", p.AIf, "up"},
		{"ip", "-n", p.A, "link", "set", "lo", "up"},
		{"ip", "-n", p.S, "addr", "add", labServer.String() + "/16", "dev", p.SIf},
		{"ip", "-n", p.S, "link", "set", p.SIf, "up"},
		{"ip", "-n", p.S, "link", "set", "lo", "up"},
		{"ip", "-n", p.S, "route", "add", "198.19.0.0/16", "via", labPartner.String()},
	}
	for i := range attackers {
		cmds = append(cmds, []string{"ip", "-n", p.A, "addr", "add", attackerAddr(i).String() + "/16", "dev", p.AIf})
	}
	for i, c := range cmds {
		if err := sh(ctx, "", nil, c...); err != nil {
			if i >= 1 {
				p.Close()
			}
			return nil, err
		}
	}
	var err error
	if p.SIdx, err = ifindex(p.S, p.SIf); err != nil {
		p.Close()
		return nil, err
	}
	if p.AIdx, err = ifindex(p.A, p.AIf); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// buildXdpban builds the daemon into dir.
func buildXdpban(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "xdpban")
	if err := sh(ctx, "", nil, "go", "build", "-o", bin, "./cmd/xdpban"); err != nil {
		return "", err
	}
	return bin, nil
}

// daemon is an `xdpban run` process we started in the lab's server side.
type daemon struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	pinDir string
	log    string
}

// startDaemon runs `xdpban run` in the server namespace with its own
// state, socket and pins under dir (pins under our bpffs prefix, so Sweep
// finds them after a crash), the lab PKI, and extra flags. It returns once
// the listener accepts connections from the client side.
func startDaemon(ctx context.Context, bin, dir string, p *pair, pki labPKI, backend string, extra ...string) (*daemon, error) {
	if err := ensureBPFFS(); err != nil {
		return nil, err
	}
	d := &daemon{done: make(chan struct{}), pinDir: filepath.Join(bpffsRoot, namePrefix+randomSuffix()), log: filepath.Join(dir, "os4x.log")}
	args := []string{"--net=/run/netns/" + p.S, "--", bin, "run",
		"--listen", netip.AddrPortFrom(labServer, labPort).String(),
		"--cert", pki.cert, "--key", pki.key, "--client-ca", pki.ca, "--backend", backend,
		"--fail2ban-log", d.log, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h",
		"--state-dir", filepath.Join(dir, "state"), "--control-socket", filepath.Join(dir, "control.sock"),
		"--pin-dir", d.pinDir, "--metrics", ""}
	d.cmd = exec.Command("nsenter", append(args, extra...)...)
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start xdpban run: %w", err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-d.done:
			return nil, fmt.Errorf("xdpban run exited: %s", d.stderr.String())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		default:
		}
		if ok, _ := probe(p.A, labPartner, 200*time.Millisecond); ok && (logOnly(extra) || d.attached(ctx, p)) {
			return d, nil
		}
	}
	d.stop()
	return nil, fmt.Errorf("xdpban run not listening after 15 s: %s", d.stderr.String())
}

// stop ends the daemon by its PID and removes its pins.
func (d *daemon) stop() {
	select {
	case <-d.done:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	os.RemoveAll(d.pinDir)
}

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
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln, nil
}

// labPKI is a CA, a server certificate for the lab server and a partner's
// client certificate, as files and as the partner's TLS config.
type labPKI struct {
	cert, key, ca string
	partner       *tls.Config
}

func logOnly(flags []string) bool {
	for _, f := range flags {
		if f == "--log-only" {
			return true
		}
	}
	return false
}

// attached reports whether the daemon's map is pinned and its program is
// on the server's veth.
func (d *daemon) attached(ctx context.Context, p *pair) bool {
	if _, err := os.Stat(filepath.Join(d.pinDir, "xdpban_bans")); err != nil {
		return false
	}
	out, err := shOut(ctx, p.S, nil, "ip", "link", "show", p.SIf)
	return err == nil && strings.Contains(out, "xdp")
}
