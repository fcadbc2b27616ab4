package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// tlsLab is a lab with the daemon's TLS listener on the server's 6619,
// forwarding partners to an echo backend, and its fail2ban log.
type tlsLab struct {
	*testutil.Lab
	n     node
	pki   *e2ePKI
	log   string
	flags []string // of `xdpban run`, beyond startDaemon's
	d     *daemonProc
}

// startTLSLab starts `xdpban run` with the listener on every address of
// the server namespace and the given jail flags.
func startTLSLab(t *testing.T, jailFlags ...string) *tlsLab {
	t.Helper()
	l := &tlsLab{Lab: testutil.NewLab(t), n: newNode(t), pki: newE2EPKI(t)}
	l.log = filepath.Join(t.TempDir(), "tls.log")
	backend := echoBackend(t, l.Lab)
	flags := append(l.pki.listenerFlags(fmt.Sprintf("[::]:%d", tlsPort), backend), "--fail2ban-log", l.log)
	l.flags = append(flags, jailFlags...)
	l.d = startDaemon(t, l.Lab, l.n, l.flags...)
	return l
}

// fail makes one failing handshake from src and waits until the daemon
// has counted it (want failures in all), so the next step sees it.
func (l *tlsLab) fail(t *testing.T, src netip.Addr, want uint64) {
	t.Helper()
	dst := l.ServerV4
	if src.Is6() {
		dst = l.ServerV6
	}
	if !attack(t, l.Lab, src, dst) {
		t.Fatalf("failure %d from %s: SYN dropped before the ban", want, src)
	}
	waitFailed(t, l.Lab, l.n, want)
}

// banned waits until the daemon reports a ban of prefix and returns it.
func (l *tlsLab) banned(t *testing.T, prefix string) (start, end time.Time) {
	t.Helper()
	return waitBanned(t, l.Lab, l.n, prefix)
}

func (l *tlsLab) reachable(t *testing.T, src netip.Addr) bool {
	t.Helper()
	dst := l.ServerV4
	if src.Is6() {
		dst = l.ServerV6
	}
	return connects(t, l.Lab, src, dst, tlsPort)
}

// TestE2EBanAfterMaxretry: three handshakes without a certificate within
// findtime ban the source at XDP; the log has exactly those three lines;
// a partner from another address is still served end to end.
func TestE2EBanAfterMaxretry(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h")
	attacker := l.ClientV4.String()

	if got, err := partnerEcho(t, l.Lab, l.pki, l.ClientAlt4, l.ServerV4); err != nil || got != "partner data\n" {
		t.Fatalf("partner before any failure: %q, %v", got, err)
	}
	l.fail(t, l.ClientV4, 1)
	l.fail(t, l.ClientV4, 2)
	if !l.reachable(t, l.ClientV4) {
		t.Fatal("banned after 2 failures with maxretry 3")
	}
	if r := mustStatus(t, l.Lab, l.n); len(r.Bans) != 0 || r.Daemon.Failed.CurrentlyBanned != 0 {
		t.Fatalf("bans after 2 failures: %+v %+v", r.Bans, r.Daemon.Bans)
	}
	l.fail(t, l.ClientV4, 3)
	l.banned(t, attacker+"/32")

	if l.reachable(t, l.ClientV4) {
		t.Error("attacker's SYN to 6619 got through after the ban")
	}
	if attack(t, l.Lab, l.ClientV4, l.ServerV4) {
		t.Error("attacker could still start a handshake after the ban")
	}
	lines := logLines(t, l.log, 3)
	// Exactly OS4X's wording, full stop included, then the timestamp.
	re := regexp.MustCompile(`^TLS error ` + noCertCode + ` during connect try from ` + regexp.QuoteMeta(attacker) +
		`: peer did not return a certificate\. \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d\]$`)
	if len(lines) != 3 {
		t.Errorf("fail2ban log has %d lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if !re.MatchString(line) {
			t.Errorf("log line not in OS4X format for %s: %q", attacker, line)
		}
	}

	r := mustStatus(t, l.Lab, l.n)
	if r.Daemon.Failed.CurrentlyBanned != 1 || r.Daemon.Failed.TotalBanned != 1 || r.Daemon.Failures[noCertCode] != 3 {
		t.Errorf("daemon counts: %+v by code %v", r.Daemon.Failed, r.Daemon.Failures)
	}
	if _, _, origin, _ := daemonBan(r, attacker+"/32"); origin != "jail" {
		t.Errorf("ban origin %q, want jail", origin)
	}
	b, ok := mapBan(r, attacker+"/32")
	if !ok || len(r.Bans) != 1 {
		t.Fatalf("pinned map bans: %+v", r.Bans)
	}
	if b.Packets == 0 || r.Counters.Dropped == 0 {
		t.Errorf("no drops counted for the ban: %+v, counters %+v", b, r.Counters)
	}
	if b.RemainingSeconds <= 0 || b.RemainingSeconds > 3600 {
		t.Errorf("remaining %ds of a 1h ban", b.RemainingSeconds)
	}

	if got, err := partnerEcho(t, l.Lab, l.pki, l.ClientAlt4, l.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner after the attacker's ban: %q, %v", got, err)
	}
	if n := len(failureLines(t, l.log)); n != 3 {
		t.Errorf("the partner's or the dropped attempts were logged: %d lines", n)
	}
}

// TestE2ENoBanWhenSpreadBeyondFindtime: three failures, each further from
// the previous than findtime, never make a window of three.
func TestE2ENoBanWhenSpreadBeyondFindtime(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "1", "--bantime", "1h")
	for i := uint64(1); i <= 3; i++ {
		if i > 1 {
			time.Sleep(1500 * time.Millisecond)
		}
		l.fail(t, l.ClientV4, i)
	}
	// The third failure has been judged (it is counted), so no ban now
	// means none was made.
	r := mustStatus(t, l.Lab, l.n)
	if len(r.Daemon.Bans) != 0 || len(r.Bans) != 0 {
		t.Fatalf("banned for failures spread wider than findtime: %+v %+v", r.Daemon.Bans, r.Bans)
	}
	if !l.reachable(t, l.ClientV4) {
		t.Error("attacker dropped without a ban")
	}
	if n := len(logLines(t, l.log, 3)); n != 3 {
		t.Errorf("fail2ban log has %d lines, want 3", n)
	}
}

// TestE2EIgnoreIPNeverBanned: failures from an ignoreip address are
// logged (fail2ban may judge them itself) but never ban.
func TestE2EIgnoreIPNeverBanned(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h", "--ignoreip", l0ClientV4)
	for i := uint64(1); i <= 5; i++ {
		if !attack(t, l.Lab, l.ClientV4, l.ServerV4) {
			t.Fatalf("ignored address dropped at attempt %d", i)
		}
		waitUntil(t, fmt.Sprintf("%d ignored failures", i), func() bool {
			return mustStatus(t, l.Lab, l.n).Daemon.Failed.Ignored == i
		})
	}
	r := mustStatus(t, l.Lab, l.n)
	if len(r.Daemon.Bans) != 0 || len(r.Bans) != 0 || r.Daemon.Failed.TotalBanned != 0 {
		t.Fatalf("ignoreip address banned: %+v %+v", r.Daemon.Bans, r.Bans)
	}
	if !l.reachable(t, l.ClientV4) {
		t.Error("ignoreip address cannot reach the protected port")
	}
	if n := len(logLines(t, l.log, 5)); n != 5 {
		t.Errorf("fail2ban log has %d lines, want all 5 failures", n)
	}
	// The ignore list is not a blanket off switch: another address bans.
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, l.ClientV6, i)
	}
	l.banned(t, l.ClientV6.String()+"/128")
}

// l0ClientV4 is testutil.NewLab's client address, needed before the lab
// exists (in the daemon's flags).
const l0ClientV4 = "198.18.0.2"

// TestE2EBanExpires: a short ban drops, then lets the source in again,
// and the daemon forgets it.
func TestE2EBanExpires(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "3")
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, l.ClientV4, i)
	}
	start, end := l.banned(t, l0ClientV4+"/32")
	if got := end.Sub(start); got != 3*time.Second {
		t.Errorf("ban length %v, want bantime 3s", got)
	}
	if l.reachable(t, l.ClientV4) {
		t.Fatal("not dropped while banned")
	}
	waitUntil(t, "the ban to expire", func() bool { return l.reachable(t, l.ClientV4) })
	if time.Now().Before(end) {
		t.Errorf("reachable before the ban's end %v", end)
	}
	waitUntil(t, "the daemon to forget the ban", func() bool {
		r := mustStatus(t, l.Lab, l.n)
		_, _, _, ok := daemonBan(r, l0ClientV4+"/32")
		return !ok && r.Daemon.Failed.CurrentlyBanned == 0
	})
	// After expiry the address starts from zero: one failure does not ban.
	l.fail(t, l.ClientV4, 4)
	if !l.reachable(t, l.ClientV4) {
		t.Error("one failure after the ban expired banned again")
	}
}

// TestE2EBantimeIncrement: the second ban of the same address is longer
// than the first.
func TestE2EBantimeIncrement(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "2", "--bantime-increment")
	prefix := l0ClientV4 + "/32"
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, l.ClientV4, i)
	}
	s1, e1 := l.banned(t, prefix)
	waitUntil(t, "the first ban to end", func() bool {
		_, _, _, ok := daemonBan(mustStatus(t, l.Lab, l.n), prefix)
		return !ok && l.reachable(t, l.ClientV4)
	})
	// A known offender may be banned after fewer failures (fail2ban's
	// retry weighting); fail until banned, at most maxretry times.
	var s2, e2 time.Time
	for i := uint64(4); i <= 6; i++ {
		l.fail(t, l.ClientV4, i)
		var ok bool
		if s2, e2, _, ok = daemonBan(mustStatus(t, l.Lab, l.n), prefix); ok {
			break
		}
	}
	if s2.IsZero() {
		t.Fatal("no second ban after three more failures")
	}
	first, second := e1.Sub(s1), e2.Sub(s2)
	if first != 2*time.Second || second <= first {
		t.Errorf("ban lengths %v then %v: want 2s then longer", first, second)
	}
	// The map is written just after the jail lists the ban.
	var r *statusReport
	waitUntil(t, "the second ban in the map", func() bool {
		r = mustStatus(t, l.Lab, l.n)
		_, ok := mapBan(r, prefix)
		return ok
	})
	for _, b := range r.Daemon.Bans {
		if b.Prefix == prefix && b.Count != 2 {
			t.Errorf("second ban has ban count %d", b.Count)
		}
	}
	if b, ok := mapBan(r, prefix); !ok || b.Until.Sub(e2).Abs() > time.Second {
		t.Errorf("pinned ban %+v does not end with the jail's second ban (%v)", b, e2)
	}
	if l.reachable(t, l.ClientV4) {
		t.Error("not dropped during the second ban")
	}
}

// TestE2EIPv6Attacker: an IPv6 source is banned; with --ipv6-prefix 64 its
// whole /64 is, with the default 128 only the address itself. The attacker
// sits in a /64 of its own: the lab's 2001:db8::/64 holds the server too,
// and ignoreself rightly keeps the jail from banning a prefix holding the
// host's own address (it refuses the ban: the map can only hold the /64).
func TestE2EIPv6Attacker(t *testing.T) {
	attacker := netip.MustParseAddr("2001:db8:1::2")
	sibling := netip.MustParseAddr("2001:db8:1::99")
	for _, tc := range []struct {
		prefix    string
		banned    string
		siblingIn bool
	}{
		{"128", "2001:db8:1::2/128", true},
		{"64", "2001:db8:1::/64", false},
	} {
		t.Run("prefix"+tc.prefix, func(t *testing.T) {
			l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h", "--ipv6-prefix", tc.prefix)
			l.AddClientV6(t, attacker)
			l.AddClientV6(t, sibling)
			if out, err := testutil.Command(l.Server, "ip", "-6", "route", "add", "2001:db8:1::/64", "dev", l.ServerIf).CombinedOutput(); err != nil {
				t.Fatalf("route to the attacker's /64: %v\n%s", err, out)
			}
			waitUntil(t, "the new IPv6 addresses to reach the server", func() bool {
				return l.reachable(t, attacker) && l.reachable(t, sibling)
			})
			for i := uint64(1); i <= 3; i++ {
				l.fail(t, attacker, i)
			}
			l.banned(t, tc.banned)
			r := mustStatus(t, l.Lab, l.n)
			if _, ok := mapBan(r, tc.banned); !ok || len(r.Bans) != 1 {
				t.Errorf("pinned bans %+v, want %s", r.Bans, tc.banned)
			}
			if l.reachable(t, attacker) {
				t.Error("IPv6 attacker not dropped")
			}
			if got := l.reachable(t, sibling); got != tc.siblingIn {
				t.Errorf("another address of the attacker's /64 reachable = %v with --ipv6-prefix %s", got, tc.prefix)
			}
			if !l.reachable(t, l.ClientV6) {
				t.Error("an address of another /64 dropped")
			}
			if !l.reachable(t, l.ClientV4) {
				t.Error("the same host's IPv4 address dropped by an IPv6 ban")
			}
			for _, line := range failureLines(t, l.log) {
				if !strings.Contains(line, " from "+attacker.String()+": ") {
					t.Errorf("log line without the IPv6 source: %q", line)
				}
			}
		})
	}
}

// TestE2ESigkillKeepsBansAndRestartRestores: with the daemon killed, the
// pinned program keeps dropping; a manual ban made meanwhile goes straight
// into the pins; the restarted daemon takes both over unchanged.
func TestE2ESigkillKeepsBansAndRestartRestores(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h")
	prefix := l0ClientV4 + "/32"
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, l.ClientV4, i)
	}
	_, end := l.banned(t, prefix)

	l.d.kill(syscall.SIGKILL)
	if l.reachable(t, l.ClientV4) {
		t.Error("ban not enforced after SIGKILL")
	}
	manual := l.ClientV6.String()
	xdpban(t, append([]string{"ban", manual, "--duration", "1h"}, l.n.flags()...)...)
	if l.reachable(t, l.ClientV6) {
		t.Error("manual ban made without the daemon not enforced")
	}
	// Let time pass, so a ban restarted from scratch would end visibly later.
	time.Sleep(2 * time.Second)

	l.d = startDaemon(t, l.Lab, l.n, l.flags...)
	r := mustStatus(t, l.Lab, l.n)
	_, end2, origin, ok := daemonBan(r, prefix)
	if !ok {
		t.Fatalf("ban of %s lost across SIGKILL and restart: %+v", prefix, r.Daemon.Bans)
	}
	if end2.Sub(end).Abs() > time.Second {
		t.Errorf("restored ban ends %v, was %v", end2, end)
	}
	t.Logf("restored ban of %s: origin %s, ends %v", prefix, origin, end2)
	b, ok := mapBan(r, prefix)
	if !ok || b.RemainingSeconds <= 0 || b.RemainingSeconds > 3600 {
		t.Errorf("pinned ban after restart: %+v", b)
	}
	if _, _, origin, ok := daemonBan(r, manual+"/128"); !ok || origin != "restored" {
		t.Errorf("manual ban made while down: found %v origin %q; bans %+v", ok, origin, r.Daemon.Bans)
	}
	if r.Daemon.Failed.CurrentlyBanned != 2 {
		t.Errorf("currently banned %d, want 2", r.Daemon.Failed.CurrentlyBanned)
	}
	if l.reachable(t, l.ClientV4) || l.reachable(t, l.ClientV6) {
		t.Error("a ban is no longer enforced after the restart")
	}
	if got, err := partnerEcho(t, l.Lab, l.pki, l.ClientAlt4, l.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner after restart: %q, %v", got, err)
	}
	// The restarted daemon owns the manual ban: unban goes through it.
	xdpban(t, append([]string{"unban", manual}, l.n.flags()...)...)
	if !l.reachable(t, l.ClientV6) {
		t.Error("unban through the restarted daemon did not lift the manual ban")
	}
}

// TestE2EBadConfigRejected: a bad value in the --config file stops the
// start with one line naming the key, and nothing is left half-started:
// no pins, no XDP on the interface, no control socket.
func TestE2EBadConfigRejected(t *testing.T) {
	lab := testutil.NewLab(t)
	for _, tc := range []struct{ name, yaml, key string }{
		{"bad duration", "bantime: 10x\n", "bantime"},
		{"not a number", "maxretry: many\n", "maxretry"},
		{"unknown key", "maxretyr: 3\n", "maxretyr"},
		{"bad ports", "ports: \"99999\"\n", "ports"},
		{"bad xdp-mode", "xdp-mode: turbo\n", "xdp-mode"},
		{"bad ipv6-prefix", "ipv6-prefix: 200\n", "ipv6-prefix"},
		{"bad ignoreip", "ignoreip: [\"198.18.0.0/15\", \"host.example\"]\n", "ignoreip"},
		{"missing interface", "iface: [\"" + lab.ServerIf + "\", \"xb-nosuchif\"]\n", "iface"},
		{"listener without cert", "listen: \"198.18.0.1:6619\"\nbackend: \"127.0.0.1:1\"\n", "cert"},
		{"a cert without its key", "listen: \"198.18.0.1:6619\"\nbackend: \"127.0.0.1:1\"\nclient-ca: /x\ncert: [/a.pem, /b.pem]\nkey: /a.key\n", "cert"},
		{"uncreatable control socket", "control-socket: /dev/null/control.sock\n", "control-socket"},
		{"metrics port not an address", "metrics: \"nohost\"\n", "metrics"},
		{"watch-log a device", "watch-log: [\"/dev/zero\"]\n", "watch-log /dev/zero: not a regular file"},
		{"watch-log a directory", "watch-log: [\"/tmp\"]\n", "watch-log /tmp: not a regular file"},
		{"missing crowdsec key file", "crowdsec-url: \"http://198.18.0.9:8080/\"\ncrowdsec-bouncer-key-file: /nonexistent/key\n", "crowdsec-bouncer-key-file"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			n := newNode(t)
			cfg := filepath.Join(t.TempDir(), "xdpban.yaml")
			writeConfig(t, cfg, tc.yaml+"listen: \"\"\nfail2ban-log: \"\"\n")
			if strings.Contains(tc.yaml, "listen:") {
				writeConfig(t, cfg, tc.yaml+"fail2ban-log: \"\"\n")
			}
			args := []string{"run", "--config", cfg, "--state-dir", n.state, "--pin-dir", n.pin}
			if !strings.Contains(tc.yaml, "control-socket") {
				args = append(args, "--control-socket", n.sock)
			}
			if !strings.Contains(tc.yaml, "iface") {
				args = append(args, "--iface", lab.ServerIf)
			}
			stderr := runFails(t, lab, args...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "xdpban: ") || !strings.Contains(lines[0], tc.key) {
				t.Errorf("want one line naming %q, got:\n%s", tc.key, stderr)
			}
			if _, err := os.Stat(n.pin); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pin dir left by a rejected start: %v", err)
			}
			if _, err := os.Stat(n.sock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("control socket left by a rejected start: %v", err)
			}
			out, _ := testutil.Command(lab.Server, "ip", "link", "show", lab.ServerIf).CombinedOutput()
			if strings.Contains(string(out), "xdp") {
				t.Errorf("XDP attached by a rejected start:\n%s", out)
			}
		})
	}
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
