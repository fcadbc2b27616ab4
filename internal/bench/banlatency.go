package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

const groupBanLatency = "3. ban latency (3rd failed handshake → ban in force)"

// banAttackers is how many distinct addresses fail three handshakes each,
// per system measured.
const banAttackers = 30

// banWait bounds the wait for one ban; a ban that takes longer is counted
// as missed, not as a sample.
const banWait = 10 * time.Second

// BanLatency measures figure 3: for each attacker, from the moment its
// third failing handshake returns on the client side to the ban being in
// force, for xdpban (a SYN from that address dropped by XDP) and for stock
// fail2ban reading the log xdpban --log-only writes (its action running).
func BanLatency(ctx context.Context, r *Report) error {
	kit, err := newLabKit(ctx, r, "ban latency")
	if err != nil {
		return err
	}
	defer kit.remove()
	systems := []struct {
		name    string
		backend string // fail2ban backend; "" is xdpban itself
	}{
		{"xdpban (XDP map)", ""},
		{"fail2ban, backend=pyinotify", "pyinotify"},
		{"fail2ban, backend=polling", "polling"},
	}
	var xdpMedian float64
	for _, sys := range systems {
		lat, missed, err := banLatencyOnce(ctx, r, kit, sys.backend)
		if err != nil {
			return fmt.Errorf("%s: %w", sys.name, err)
		}
		med, p99 := median(lat), percentile(lat, 99)
		r.Add(Figure{Group: groupBanLatency, Name: sys.name + ": median", Value: med, Unit: "ns", Samples: lat})
		r.Add(Figure{Group: groupBanLatency, Name: sys.name + ": p99", Value: p99, Unit: "ns"})
		if missed > 0 {
			r.Note("ban latency: %s: %d of %d attackers not banned within %s", sys.name, missed, banAttackers, banWait)
		}
		if sys.backend == "" {
			xdpMedian = med
			continue
		}
		r.Ratio(groupBanLatency, sys.name+" median / xdpban median",
			Input{sys.name + ": median", med, "ns"}, Input{"xdpban (XDP map): median", xdpMedian, "ns"}, "")
	}
	r.Note("ban latency: %d attackers (distinct addresses) per system, each failing 3 TLS handshakes without a client certificate in a row; t0 = when the client sees its 3rd failure (the server's alert); p99 of %d samples (nearest rank) is their largest", banAttackers, banAttackers)
	r.Note("ban latency: xdpban = `xdpban run` (maxretry 3) in a namespace, ban in force = start of the first bare-connect probe from that address whose SYN gets no answer within 20 ms (confirmed by a second one), probes back to back from the attacker's thread, so the resolution is one successful connect (tens of µs)")
	r.Note("ban latency: fail2ban = fail2ban-server %s with the shipped os4x filter (maxretry 3) reading the log that `xdpban run --log-only` writes for the same handshakes; ban = the time a dummy action stamps (date +%%s.%%N) when fail2ban runs it, before any firewall change, so a lower bound", fail2banVersion(ctx))
	return nil
}

// banLatencyOnce runs one system in a fresh lab and returns the latency of
// each attacker's ban in ns.
func banLatencyOnce(ctx context.Context, r *Report, kit *labKit, backend string) ([]float64, int, error) {
	p, err := newLab(ctx, banAttackers)
	if err != nil {
		return nil, 0, err
	}
	defer p.Close()
	runDir, err := os.MkdirTemp(kit.dir, "run-")
	if err != nil {
		return nil, 0, err
	}
	extra := []string{"--iface", p.SIf, "--xdp-mode", "native"}
	var f2b *fail2ban
	if backend != "" {
		extra = []string{"--log-only"}
		if f2b, err = startFail2ban(runDir, daemonLog(runDir), backend); err != nil {
			return nil, 0, err
		}
		defer f2b.Stop()
	}
	d, err := startDaemon(ctx, kit.bin, runDir, p, kit.pki, "127.0.0.1:9", extra...)
	if err != nil {
		return nil, 0, err
	}
	defer d.stop()
	name := "xdpban"
	if backend != "" {
		name = "fail2ban " + backend
	}

	var lat []float64
	missed := 0
	for i := range banAttackers {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		a := attackerAddr(i)
		var t0, at time.Time
		var banErr error
		// One thread in the client namespace for the handshakes and the
		// probes: no thread is created between t0 and the ban.
		err := inNS(p.A, func() error {
			for range 3 {
				var err error
				if t0, err = failHandshake(a); err != nil {
					return fmt.Errorf("attacker %s: %w", a, err)
				}
			}
			if f2b == nil {
				at, banErr = waitDropped(ctx, a)
			} else {
				at, banErr = f2b.waitBan(ctx, a)
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		if banErr != nil {
			missed++
			continue
		}
		lat = append(lat, float64(at.Sub(t0).Nanoseconds()))
	}
	if len(lat) == 0 {
		return nil, missed, fmt.Errorf("no attacker banned (daemon: %s)", d.stderr.String())
	}
	r.Progress("ban latency %-22s median %10s  p99 %10s  (%d banned)", name,
		formatValue(median(lat), "ns"), formatValue(percentile(lat, 99), "ns"), len(lat))
	return lat, missed, nil
}

// failHandshake makes one TLS handshake from src without a client
// certificate and returns when the client sees it fail: with TLS 1.3 the
// client finishes first and the server's refusal arrives on the first read.
func failHandshake(src netip.Addr) (time.Time, error) {
	dl := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := dl.Dial("tcp", netip.AddrPortFrom(labServer, labPort).String())
	if err != nil {
		return time.Time{}, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return time.Now(), nil
	}
	_, err = tc.Read(make([]byte, 1))
	at := time.Now()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return at, fmt.Errorf("no verdict from the server: %w", err)
	}
	if err == nil {
		return at, fmt.Errorf("served without a certificate")
	}
	return at, nil
}

// waitDropped probes src's connectivity back to back and returns the start
// of the first probe whose SYN went unanswered, confirmed by a second one.
func waitDropped(ctx context.Context, src netip.Addr) (time.Time, error) {
	deadline := time.Now().Add(banWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		start := time.Now()
		if connects(src, 20*time.Millisecond) {
			continue
		}
		if !connects(src, 100*time.Millisecond) {
			return start, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s not dropped within %s", src, banWait)
}

// percentile by nearest rank; xs is left in its order.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	k := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}

// fail2ban is testutil's fail2ban-server with a dummy action that
// appends "<epoch seconds.ns> <ip>" to a file when it bans.
type fail2ban struct {
	*testutil.Fail2ban
	stamps string
}

// startFail2ban runs fail2ban-server with the shipped os4x filter and
// jail, watching logPath with backend.
func startFail2ban(dir, logPath, backend string) (*fail2ban, error) {
	dir = filepath.Join(dir, "f2b")
	f := &fail2ban{stamps: filepath.Join(dir, "stamps")}
	var err error
	f.Fail2ban, err = testutil.NewFail2ban(dir, "deploy/fail2ban", map[string]string{
		"jail.d/zz-bench.local": "[os4x]\nlogpath = " + logPath + "\nbackend = " + backend +
			"\nmaxretry = 3\nfindtime = 10m\naction = stamp\n",
		"action.d/stamp.conf": "[Definition]\nactionban = echo \"$(date +%%s.%%N) <ip>\" >> " + f.stamps + "\nactionunban =\n",
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		return nil, err
	}
	return f, f.Start()
}

// waitBan polls the action's stamp file for addr and returns its stamp.
func (f *fail2ban) waitBan(ctx context.Context, addr netip.Addr) (time.Time, error) {
	for deadline := time.Now().Add(banWait); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(2 * time.Millisecond) {
		if at, ok := f.stamp(addr); ok {
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("fail2ban did not ban %s within %s", addr, banWait)
}

func (f *fail2ban) stamp(addr netip.Addr) (time.Time, bool) {
	fh, err := os.Open(f.stamps)
	if err != nil {
		return time.Time{}, false
	}
	defer fh.Close()
	s := bufio.NewScanner(fh)
	for s.Scan() {
		ts, ip, ok := strings.Cut(s.Text(), " ")
		if !ok || ip != addr.String() {
			continue
		}
		sec, frac, _ := strings.Cut(ts, ".")
		secs, err1 := strconv.ParseInt(sec, 10, 64)
		ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		return time.Unix(secs, ns), true
	}
	return time.Time{}, false
}

func fail2banVersion(ctx context.Context) string {
	out, err := shOut(ctx, "", nil, "fail2ban-server", "-V")
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(strings.Split(out, "\n")[0])
}
