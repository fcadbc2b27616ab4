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
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/lab"
)

const groupBanLatency = "3. ban latency (3rd failed handshake → ban in force)"

// Distinct addresses that fail three handshakes each, per system: enough
// for xdpban that the p99 is a nearest rank (the 198th of 200), not the
// largest sample. fail2ban takes about a quarter to two thirds of a second
// per ban, so its systems keep fewer: their p99 is their largest sample.
const (
	banAttackersXDP = 200
	banAttackersF2B = 30
)

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
		name      string
		backend   string // fail2ban backend; "" is xdpban itself
		attackers int
	}{
		{"xdpban (XDP map)", "", banAttackersXDP},
		{"fail2ban, backend=pyinotify", "pyinotify", banAttackersF2B},
		{"fail2ban, backend=polling", "polling", banAttackersF2B},
	}
	split, err := splitCPUs()
	if err != nil {
		return err
	}
	var xdpMedian float64
	for _, sys := range systems {
		lat, missed, err := banLatencyOnce(ctx, r, kit, split, sys.backend, sys.attackers)
		if err != nil {
			return fmt.Errorf("%s: %w", sys.name, err)
		}
		med, p99 := median(lat), percentile(lat, 99)
		r.Add(Figure{Group: groupBanLatency, Name: sys.name + ": median", Value: med, Unit: "ns", Samples: lat})
		r.Add(Figure{Group: groupBanLatency, Name: sys.name + ": p99", Value: p99, Unit: "ns"})
		r.Note("ban latency: %s: %d samples, p99 = sample %d of %d by nearest rank", sys.name, len(lat), nearestRank(len(lat), 99), len(lat))
		if missed > 0 {
			r.Note("ban latency: %s: %d of %d attackers not banned within %s", sys.name, missed, sys.attackers, banWait)
		}
		if sys.backend == "" {
			xdpMedian = med
			continue
		}
		r.Ratio(groupBanLatency, sys.name+" median / xdpban median",
			Input{sys.name + ": median", med, "ns"}, Input{"xdpban (XDP map): median", xdpMedian, "ns"}, "")
	}
	r.Note("ban latency: %d attackers (distinct addresses) for xdpban, %d per fail2ban backend (each ban takes fail2ban a large fraction of a second, so there its p99 is the largest sample), each failing 3 TLS handshakes without a client certificate in a row; t0 = when the client sees its 3rd failure (the server's alert), read on a socket its thread waits on in ppoll, not through Go's netpoller", banAttackersXDP, banAttackersF2B)
	r.Note("ban latency: xdpban = `xdpban run` (maxretry 3) in a namespace, ban in force = start of the first bare SYN from that address (raw socket, answered by the server's kernel without the daemon accepting anything) that gets no SYN-ACK within 20 ms, confirmed by a real connect to the port timing out after 100 ms; SYNs back to back from the attacker's thread, so the resolution is one answered SYN; the bench's own garbage collector is off while an attacker is timed")
	r.Note("ban latency: CPUs: %s (`xdpban run` under taskset, so its Go runtime sizes GOMAXPROCS to them)", split)
	r.Note("ban latency: fail2ban = fail2ban-server %s with the shipped os4x filter (maxretry 3) reading the log that `xdpban run --log-only` writes for the same handshakes; ban = the time a dummy action stamps (date +%%s.%%N) when fail2ban runs it, before any firewall change, so a lower bound", fail2banVersion(ctx))
	return nil
}

// banLatencyOnce runs one system in a fresh lab and returns the latency of
// each attacker's ban in ns.
func banLatencyOnce(ctx context.Context, r *Report, kit *labKit, split *cpuSplit, backend string, attackers int) ([]float64, int, error) {
	p, err := newLab(ctx, attackers)
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
	d, err := startDaemonOn(ctx, split.daemonCPUs(), kit.bin, runDir, p, kit.pki, "127.0.0.1:9", extra...)
	if err != nil {
		return nil, 0, err
	}
	defer d.stop()
	if err := split.pinProcess(); err != nil {
		return nil, 0, err
	}
	defer split.unpin()
	name := "xdpban"
	if backend != "" {
		name = "fail2ban " + backend
	}

	// The bench's own collector must not run inside a timed window: it
	// would take CPU from the daemon (two vCPUs) or stop the attacker's
	// thread. It runs between attackers instead.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var lat []float64
	missed := 0
	for i := range attackers {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		runtime.GC()
		a := attackerAddr(i)
		var t0, at time.Time
		var banErr error
		// One thread in the client namespace for the handshakes and the
		// probes: no thread is created between t0 and the ban, and the
		// prober's socket is open before t0.
		err := inNS(p.A, func() error {
			var pr *synProber
			if f2b == nil {
				var err error
				if pr, err = newSYNProber(a, netip.AddrPortFrom(labServer, labPort)); err != nil {
					return err
				}
				defer pr.Close()
			}
			for range 3 {
				var err error
				if t0, err = failHandshake(a); err != nil {
					return fmt.Errorf("attacker %s: %w", a, err)
				}
			}
			if pr != nil {
				at, banErr = waitDropped(ctx, pr, a)
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
	c, err := dialPoll(src, netip.AddrPortFrom(labServer, labPort), 2*time.Second)
	if err != nil {
		return time.Time{}, err
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

// waitDropped sends SYNs from src back to back and returns the start of
// the first one that went unanswered, confirmed by a real connect to the
// port that times out. It runs on a thread in the attacker's namespace.
func waitDropped(ctx context.Context, pr *synProber, src netip.Addr) (time.Time, error) {
	deadline := time.Now().Add(banWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		start := time.Now()
		ok, err := pr.answered(20 * time.Millisecond)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
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
	return xs[nearestRank(len(xs), p)-1]
}

// nearestRank is the 1-based rank of the p-th percentile of n samples.
func nearestRank(n int, p float64) int {
	return min(max(int(math.Ceil(p/100*float64(n))), 1), n)
}

// fail2ban is testutil's fail2ban-server with a dummy action that
// appends "<epoch seconds.ns> <ip>" to a file when it bans.
type fail2ban struct {
	*lab.Fail2ban
	stamps string
}

// startFail2ban runs fail2ban-server with the shipped os4x filter and
// jail, watching logPath with backend.
func startFail2ban(dir, logPath, backend string) (*fail2ban, error) {
	dir = filepath.Join(dir, "f2b")
	f := &fail2ban{stamps: filepath.Join(dir, "stamps")}
	var err error
	f.Fail2ban, err = lab.NewFail2ban(dir, "deploy/fail2ban", map[string]string{
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
