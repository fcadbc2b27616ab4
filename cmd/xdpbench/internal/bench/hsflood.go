package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/xdpban/xdpban/internal/lab"
)

const groupHandshake = "6. partner under a handshake flood (namespaces, xdpban run)"

const (
	hsSamples  = 100                   // partner sessions (and echoes) per condition
	hsInterval = 20 * time.Millisecond // between them
	hsRamp     = time.Second           // flood running before the first sample
)

// hsFloods are the failing handshakes kept in flight; 1,500 is beyond the
// 1,024 slots, where partners used to be refused.
var hsFloods = []int{0, 32, 256, 1000, 1500}

// hsResult is one condition's partner figures.
type hsResult struct {
	session, echo, first    []float64 // latencies (ns) of new sessions, echoes on the open session, first contacts
	sessionFails, firstFail int
	firstTries              int
	attack                  attackStats
}

// HandshakeFlood measures a known partner (in ignoreip) while failing
// handshakes from many sources (each used at most twice, so never banned)
// are kept in flight: a new session (connect, mTLS handshake, one echoed
// line), one line echoed on a session opened before the flood, and first
// contacts from addresses never seen. xdpban runs on one CPU, attacker
// and partner on the other (the attacker at SCHED_IDLE there, so the
// partner's client is not slowed by it).
func HandshakeFlood(ctx context.Context, r *Report) error {
	kit, err := newLabKit(ctx, r, "handshake flood")
	if err != nil {
		return err
	}
	defer kit.remove()
	rsaDir := filepath.Join(kit.dir, "rsa")
	if err := os.Mkdir(rsaDir, 0o700); err != nil {
		return err
	}
	rsaPKI, err := lab.NewRSAPKI(rsaDir, labServer.AsSlice())
	if err != nil {
		return err
	}
	split, err := splitCPUs()
	if err != nil {
		return err
	}
	for _, key := range []struct {
		name string
		pki  *lab.PKI
	}{{"RSA-2048", rsaPKI}, {"ECDSA P-256", kit.pki}} {
		var base hsResult
		for _, n := range hsFloods {
			r.Progress("handshake flood: %s, %d in flight", key.name, n)
			res, err := handshakeOnce(ctx, kit, key.pki, split, n)
			if err != nil {
				return fmt.Errorf("%s, %d in flight: %w", key.name, n, err)
			}
			cond := fmt.Sprintf("%s, %d in flight", key.name, n)
			if n == 0 {
				cond = key.name + ", no flood"
				base = res
			}
			hsReport(r, cond, res, base, n > 0)
		}
	}
	r.Note("handshake flood: CPUs: %s; the attacker is a separate process at SCHED_IDLE on its CPU, the partner's client runs there at normal priority", split)
	r.Note("handshake flood: per condition a fresh lab and `xdpban run` (default limits: 1,024 handshakes, 64 reserved for known partners; --ignoreip the partner); attacker: a recorded TLS 1.3 ClientHello (X25519) replayed, the server's signed flight awaited, then a hang-up (the server counts an EOF), each source 198.19.x.y used at most twice (never banned with maxretry 3); %d samples every %s after %s of flood: new session = connect + mTLS handshake + one echoed line from the partner 198.18.0.2 (known: ignoreip), open session = one line echoed on a session opened before the flood; first contact = a new address 198.19.255.x (unknown) every 5th sample", hsSamples, hsInterval, hsRamp)
	return nil
}

func hsReport(r *Report, cond string, res, base hsResult, flood bool) {
	add := func(name string, v float64, unit string) {
		r.Add(Figure{Group: groupHandshake, Name: cond + ": " + name, Value: v, Unit: unit})
	}
	sm, sp := median(res.session), percentile(res.session, 99)
	em, ep := median(res.echo), percentile(res.echo, 99)
	add("new session median", sm, "ns")
	add("new session p99", sp, "ns")
	add("open session echo median", em, "ns")
	add("open session echo p99", ep, "ns")
	add("partner sessions refused or failed", float64(res.sessionFails), "")
	if len(res.first) > 0 {
		add("first contact median", median(res.first), "ns")
	}
	add("first contacts served", float64(res.firstTries-res.firstFail), "of "+fmt.Sprint(res.firstTries))
	if !flood {
		return
	}
	add("failing handshakes absorbed", float64(res.attack.Failed)/res.attack.Seconds, "handshakes/s")
	add("attacker refused before the signature", float64(res.attack.Refused)/res.attack.Seconds, "connections/s")
	for _, q := range []struct {
		name     string
		num, den float64
	}{
		{"new session median / no flood", sm, median(base.session)},
		{"new session p99 / no flood", sp, percentile(base.session, 99)},
		{"open session echo median / no flood", em, median(base.echo)},
		{"open session echo p99 / no flood", ep, percentile(base.echo, 99)},
	} {
		r.Ratio(groupHandshake, cond+": "+q.name, Input{cond, q.num, "ns"}, Input{"no flood", q.den, "ns"}, "")
	}
}

// handshakeOnce runs one condition in a fresh lab and daemon.
func handshakeOnce(ctx context.Context, kit *labKit, pki *lab.PKI, split *cpuSplit, inFlight int) (hsResult, error) {
	var res hsResult
	p, err := newLab(ctx, 0)
	if err != nil {
		return res, err
	}
	defer p.Close()
	// Every 198.19.x.y is local on the client side (AnyIP), so the
	// attacker and first contacts can bind them and get their replies.
	if err := sh(ctx, "", nil, "ip", "-n", p.A, "route", "add", "local", "198.19.0.0/16", "dev", "lo"); err != nil {
		return res, err
	}
	runDir, err := os.MkdirTemp(kit.dir, "run-")
	if err != nil {
		return res, err
	}
	echo, err := echoBackend(p.S)
	if err != nil {
		return res, err
	}
	defer echo.Close()
	d, err := startDaemonOn(ctx, split.daemonCPUs(), kit.bin, runDir, p, pki, echo.Addr().String(),
		"--iface", p.SIf, "--xdp-mode", "native", "--ignoreip", labPartner.String())
	if err != nil {
		return res, err
	}
	defer d.stop()
	if err := split.pinProcess(); err != nil {
		return res, err
	}
	defer split.unpin()
	partner := pki.PartnerConfig(labServer.String())

	var open *tls.Conn
	var openR *bufio.Reader
	if err := inNS(p.A, func() error {
		c, err := dialSession(labPartner, partner)
		open, openR = c, bufio.NewReader(c)
		return err
	}); err != nil {
		return res, fmt.Errorf("open the partner's session: %w", err)
	}
	defer open.Close()

	var att *attacker
	if inFlight > 0 {
		if att, err = startAttacker(p.A, split.attackerCPUs(), inFlight); err != nil {
			return res, err
		}
		time.Sleep(hsRamp)
	}
	err = inNS(p.A, func() error {
		next := time.Now()
		for i := range hsSamples {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Until(next))
			next = next.Add(hsInterval)
			start := time.Now()
			if err := echoLine(open, openR); err != nil {
				return fmt.Errorf("open session, sample %d: %w", i, err)
			}
			res.echo = append(res.echo, float64(time.Since(start)))
			start = time.Now()
			if err := partnerSession(partner); err != nil {
				res.sessionFails++
			} else {
				res.session = append(res.session, float64(time.Since(start)))
			}
			if i%5 == 0 {
				res.firstTries++
				src := netip.AddrFrom4([4]byte{198, 19, 255, byte(1 + i/5)})
				start = time.Now()
				if c, err := dialSession(src, partner); err != nil {
					res.firstFail++
				} else {
					res.first = append(res.first, float64(time.Since(start)))
					c.Close()
				}
			}
		}
		return nil
	})
	if att != nil {
		st, aerr := att.stop()
		res.attack = st
		if err == nil {
			err = aerr
		}
	}
	if err == nil && len(res.session) == 0 {
		err = fmt.Errorf("no partner session succeeded (daemon: %s)", d.stderr.String())
	}
	return res, err
}

// dialSession opens an mTLS session from src and has one line echoed.
func dialSession(src netip.Addr, cfg *tls.Config) (*tls.Conn, error) {
	dl := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := dl.Dial("tcp", netip.AddrPortFrom(labServer, labPort).String())
	if err != nil {
		return nil, err
	}
	tc := tls.Client(c, cfg)
	if err := echoLine(tc, bufio.NewReader(tc)); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// echoLine sends one line and waits for it to come back.
func echoLine(c net.Conn, r *bufio.Reader) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("partner\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "partner\n" {
		return fmt.Errorf("echo: %q", line)
	}
	return nil
}
