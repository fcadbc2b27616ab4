package main

import (
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EIPv6PrefixNeverBlocksIgnoreIP: with --ipv6-prefix 64 the map can
// only ban a whole /64. An attacker sharing a /64 with an ignoreip partner
// is therefore not banned: not by the jail, not by hand (through the
// daemon or straight into the pins), not at restore. Every refusal is
// logged with its reason and counted. Bans of other /64s are the /64 in
// jail, map, store and status, before and after a restart.
func TestE2EIPv6PrefixNeverBlocksIgnoreIP(t *testing.T) {
	partner := netip.MustParseAddr("2001:db8:50::2")
	attacker := netip.MustParseAddr("2001:db8:50::66")
	other := netip.MustParseAddr("2001:db8:60::66")
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h",
		"--ipv6-prefix", "64", "--ignoreip", partner.String(), "--metrics", "127.0.0.1:19619")
	for _, a := range []netip.Addr{partner, attacker, other} {
		l.AddClientV6(t, a)
	}
	for _, p := range []string{"2001:db8:50::/64", "2001:db8:60::/64"} {
		if out, err := testutil.Command(l.Server, "ip", "-6", "route", "add", p, "dev", l.ServerIf).CombinedOutput(); err != nil {
			t.Fatalf("route to %s: %v\n%s", p, err, out)
		}
	}
	waitUntil(t, "the new IPv6 addresses to reach the server", func() bool {
		return l.reachable(t, partner) && l.reachable(t, attacker) && l.reachable(t, other)
	})

	// The jail: three failures reach maxretry, the ban is refused.
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, attacker, i)
	}
	waitUntil(t, "the refusal in the daemon's log", func() bool {
		return strings.Contains(l.d.stderr.String(), "ban refused")
	})
	if !strings.Contains(l.d.stderr.String(), "2001:db8:50::/64: refused: it covers an ignoreip address (2001:db8:50::2/128)") {
		t.Errorf("refusal without its reason:\n%s", l.d.stderr.String())
	}
	r := mustStatus(t, l.Lab, l.n)
	if len(r.Daemon.Bans) != 0 || len(r.Bans) != 0 {
		t.Fatalf("a ban covering the ignoreip partner: jail %+v, map %+v", r.Daemon.Bans, r.Bans)
	}
	if !l.reachable(t, partner) {
		t.Fatal("the ignoreip partner is dropped")
	}

	// By hand through the daemon: refused with the reason, nothing written.
	out := runFails(t, l.Lab, append([]string{"ban", attacker.String()}, l.n.flags()...)...)
	if !strings.Contains(out, "refused: it covers an ignoreip address (2001:db8:50::2/128)") {
		t.Errorf("manual ban through the daemon: %q", out)
	}
	if body := scrape(t, l.Lab, "127.0.0.1:19619", "/metrics"); !strings.Contains(body, "xdpban_jail_bans_refused_total 2\n") {
		t.Errorf("refusals not counted:\n%s", grepLines(body, "refused"))
	}

	// A manual ban of one address elsewhere is its /64 everywhere.
	if got := xdpban(t, append([]string{"ban", other.String(), "--duration", "1h"}, l.n.flags()...)...); !strings.HasPrefix(got, "banned 2001:db8:60::/64 ") {
		t.Errorf("ban printed %q, want the /64 the map holds", got)
	}
	checkOnlyBan := func(when string) {
		t.Helper()
		r := mustStatus(t, l.Lab, l.n)
		if _, _, _, ok := daemonBan(r, "2001:db8:60::/64"); !ok || len(r.Daemon.Bans) != 1 {
			t.Errorf("%s: jail bans %+v, want only 2001:db8:60::/64", when, r.Daemon.Bans)
		}
		if _, ok := mapBan(r, "2001:db8:60::/64"); !ok || len(r.Bans) != 1 {
			t.Errorf("%s: map bans %+v, want only 2001:db8:60::/64", when, r.Bans)
		}
		if l.reachable(t, other) || !l.reachable(t, partner) {
			t.Errorf("%s: the banned /64 passes, or the partner is dropped", when)
		}
	}
	checkOnlyBan("before a restart")

	// Restart: the store and the map agree, nothing is dropped; the ban
	// keeps its origin, which only the store's record carries.
	restart := func(when string) {
		t.Helper()
		l.d = startDaemon(t, l.Lab, l.n, l.flags...)
		checkOnlyBan(when)
		if !strings.Contains(l.d.stderr.String(), `restored=1 dropped=0`) {
			t.Errorf("%s: not exactly the one ban restored:\n%s", when, grepLines(l.d.stderr.String(), "restored"))
		}
		if _, _, origin, _ := daemonBan(mustStatus(t, l.Lab, l.n), "2001:db8:60::/64"); origin != "manual" {
			t.Errorf("%s: origin %q: the store's record was not the map's ban", when, origin)
		}
	}
	l.d.kill(syscall.SIGTERM)
	restart("after a restart")
	// As after a reboot: no pins, the store alone brings the ban back.
	l.d.kill(syscall.SIGTERM)
	xdpban(t, "detach", "--pin-dir", l.n.pin)
	restart("after the pins were removed")

	// Straight into the pins without a daemon: the daemon's saved list
	// refuses it just the same.
	l.d.kill(syscall.SIGTERM)
	out = runFails(t, l.Lab, append([]string{"ban", attacker.String(), "--state-dir", l.n.state}, l.n.flags()...)...)
	if !strings.Contains(out, "ban 2001:db8:50::/64: refused: it covers an ignoreip address (2001:db8:50::2/128)") {
		t.Errorf("direct ban: %q", out)
	}

	// With no list saved (another --state-dir), run's defaults apply.
	out = runFails(t, l.Lab, append([]string{"ban", "127.0.0.9", "--state-dir", t.TempDir()}, l.n.flags()...)...)
	if !strings.Contains(out, "ban 127.0.0.9/32: refused: it covers an ignoreip address (127.0.0.0/8)") {
		t.Errorf("direct ban of a default ignoreip address: %q", out)
	}

	// A restart whose ignoreip now covers the banned /64: the ban is
	// refused at restore, logged, and removed from the map and the store.
	flags := append(append([]string{}, l.flags...), "--ignoreip", "2001:db8:60::7")
	l.d = startDaemon(t, l.Lab, l.n, flags...)
	r = mustStatus(t, l.Lab, l.n)
	if len(r.Daemon.Bans) != 0 || len(r.Bans) != 0 {
		t.Errorf("a ban covering the new ignoreip survived the restart: jail %+v, map %+v", r.Daemon.Bans, r.Bans)
	}
	if log := l.d.stderr.String(); !strings.Contains(log, "ban refused") || !strings.Contains(log, "2001:db8:60::/64: refused: it covers an ignoreip address (2001:db8:60::7/128)") {
		t.Errorf("refusal at restore not logged with its reason:\n%s", log)
	}
	if !l.reachable(t, other) {
		t.Error("the /64 is still dropped after its ban was refused at restore")
	}
}

// grepLines returns the lines of s that contain sub, for failure messages.
func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
