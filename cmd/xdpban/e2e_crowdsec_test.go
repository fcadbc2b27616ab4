package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// lapiNet is a network namespace for a Local API, with a veth to each
// gateway's server namespace: gateway i reaches it at 198.19.i.1.
type lapiNet struct {
	ns string
}

func newLAPINet(t *testing.T) *lapiNet {
	t.Helper()
	n := &lapiNet{ns: "xb-l-" + testutil.RandomSuffix()}
	t.Cleanup(func() { sh(t, false, "ip", "netns", "del", n.ns) })
	sh(t, true, "ip", "netns", "add", n.ns)
	sh(t, true, "ip", "netns", "exec", n.ns, "ip", "link", "set", "lo", "up")
	return n
}

// link joins gateway namespace gw as number i and returns LAPI's URL there.
func (n *lapiNet) link(t *testing.T, gw string, i int) string {
	t.Helper()
	s := testutil.RandomSuffix()
	a, b := fmt.Sprintf("xbl%d%s", i, s), fmt.Sprintf("xbg%d%s", i, s)
	sh(t, true, "ip", "link", "add", a, "netns", n.ns, "type", "veth", "peer", "name", b, "netns", gw)
	for _, c := range [][]string{
		{n.ns, "ip", "addr", "add", fmt.Sprintf("198.19.%d.1/30", i), "dev", a},
		{n.ns, "ip", "link", "set", a, "up"},
		{gw, "ip", "addr", "add", fmt.Sprintf("198.19.%d.2/30", i), "dev", b},
		{gw, "ip", "link", "set", b, "up"},
	} {
		sh(t, true, append([]string{"ip", "netns", "exec", c[0]}, c[1:]...)...)
	}
	return fmt.Sprintf("http://198.19.%d.1:8080/", i)
}

func sh(t *testing.T, must bool, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil && must {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// gateway is one xdpban gateway of the fleet: its lab (attacker and
// gateway namespaces), its TLS listener and its CrowdSec credentials.
type gateway struct {
	*tlsLab
	name string
}

func writeSecret(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startGateway starts `xdpban run` with the listener and the CrowdSec
// link (pull every second, push as machine name).
func startGateway(t *testing.T, ln *lapiNet, l *testutil.LAPI, name string, i int) *gateway {
	t.Helper()
	g := &gateway{tlsLab: &tlsLab{Lab: testutil.NewLab(t), n: newNode(t), pki: newE2EPKI(t)}, name: name}
	url := ln.link(t, g.Server, i)
	g.log = filepath.Join(t.TempDir(), "tls.log")
	backend := echoBackend(t, g.Lab)
	flags := append(g.pki.listenerFlags(fmt.Sprintf("[::]:%d", tlsPort), backend), "--fail2ban-log", g.log,
		"--maxretry", "3", "--findtime", "10m", "--bantime", "1h",
		"--crowdsec-url", url, "--crowdsec-interval", "1s",
		"--crowdsec-bouncer-key-file", writeSecret(t, l.AddBouncer(t, name)),
		"--crowdsec-machine", name, "--crowdsec-password-file", writeSecret(t, l.AddMachine(t, name)))
	g.flags = flags
	g.d = startDaemon(t, g.Lab, g.n, g.flags...)
	g.waitLAPI(t, time.Time{})
	return g
}

// waitLAPI waits until the gateway has pulled from LAPI after since.
func (g *gateway) waitLAPI(t *testing.T, since time.Time) {
	t.Helper()
	waitUntil(t, g.name+" pulls from LAPI", func() bool {
		cs := mustStatus(t, g.Lab, g.n).Daemon.CrowdSec
		return cs != nil && cs.Reachable && cs.LastPull.After(since)
	})
}

func (g *gateway) blocked(t *testing.T, src string) bool {
	t.Helper()
	return !g.reachable(t, netip.MustParseAddr(src))
}

// waitBlocked polls until src's SYNs are dropped (want) or answered.
func (g *gateway) waitBlocked(t *testing.T, src string, want bool) time.Duration {
	t.Helper()
	start := time.Now()
	waitUntil(t, fmt.Sprintf("%s: %s blocked=%v", g.name, src, want), func() bool { return g.blocked(t, src) == want })
	return time.Since(start)
}

// TestE2ECrowdSecFleet: two gateways share one Local API (Debian's
// crowdsec). A jail ban at gw1 reaches gw2's XDP map; a cscli decision
// is enforced at both and its deletion lifts it at both; a gateway
// started afresh gets the current set; LAPI stopped and started again
// loses no ban.
func TestE2ECrowdSecFleet(t *testing.T) {
	if err := testutil.NeedCrowdSec(); err != nil {
		t.Fatal(err)
	}
	ln := newLAPINet(t)
	l := testutil.StartLAPI(t, "0.0.0.0:8080", "/run/netns/"+ln.ns)
	gw1 := startGateway(t, ln, l, "gw1", 1)
	gw2 := startGateway(t, ln, l, "gw2", 2)
	const attacker, other = l0ClientV4, "198.18.0.3"

	// Three failed handshakes at gw1: its jail bans, pushes, gw2 pulls.
	for i := uint64(1); i <= 3; i++ {
		gw1.fail(t, gw1.ClientV4, i)
	}
	gw1.banned(t, attacker+"/32")
	took := gw2.waitBlocked(t, attacker, true)
	t.Logf("jail ban at gw1 enforced at gw2 %s later (pull interval 1s)", took.Round(10*time.Millisecond))
	r2 := mustStatus(t, gw2.Lab, gw2.n)
	if _, _, origin, ok := daemonBan(r2, attacker+"/32"); !ok || origin != "crowdsec" {
		t.Errorf("gw2's ban of the attacker: found %v, origin %q, want crowdsec", ok, origin)
	}
	text, err := testutil.Command(gw2.Server, binary, append([]string{"status"}, gw2.n.flags()...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CrowdSec (http://198.19.2.1:8080/)", "lapi:         reachable", "decisions applied 1,", "crowdsec\n"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("gw2's status lacks %q:\n%s", want, text)
		}
	}
	// gw1 pulled its own ban back: it stays the jail's and is not pushed again.
	gw1.waitLAPI(t, time.Now())
	if _, _, origin, _ := daemonBan(mustStatus(t, gw1.Lab, gw1.n), attacker+"/32"); origin != "jail" {
		t.Errorf("gw1's own ban has origin %q after pulling it back, want jail", origin)
	}
	gw2.waitLAPI(t, time.Now())
	if n := alertsFor(t, l, attacker); n != 1 {
		out, _ := l.Cscli("alerts", "list", "-a", "-o", "json")
		t.Errorf("LAPI holds %d alerts for the attacker, want 1 (a pulled decision is never pushed back): %s", n, out)
	}

	// An operator's range decision drops at both; its deletion lifts it.
	if _, err := l.Cscli("decisions", "add", "-r", "198.18.0.2/31", "-d", "1h"); err != nil {
		t.Fatal(err)
	}
	gw1.waitBlocked(t, other, true)
	gw2.waitBlocked(t, other, true)
	if _, err := l.Cscli("decisions", "delete", "-r", "198.18.0.2/31"); err != nil {
		t.Fatal(err)
	}
	gw1.waitBlocked(t, other, false)
	gw2.waitBlocked(t, other, false)
	if !gw1.blocked(t, attacker) || !gw2.blocked(t, attacker) {
		t.Error("deleting the range lifted the attacker's own ban")
	}

	// gw2 started afresh (no pins, no store) gets the current set.
	gw2.d.kill(9)
	xdpban(t, "detach", "--pin-dir", gw2.n.pin)
	gw2.n = newNode(t)
	gw2.d = startDaemon(t, gw2.Lab, gw2.n, gw2.flags...)
	gw2.waitBlocked(t, attacker, true)
	if _, _, origin, ok := daemonBan(mustStatus(t, gw2.Lab, gw2.n), attacker+"/32"); !ok || origin != "crowdsec" {
		t.Errorf("gw2 started afresh: attacker's ban found %v, origin %q, want crowdsec", ok, origin)
	}

	// LAPI down: nothing is lost; LAPI back: still everything in force.
	l.Stop()
	for _, g := range []*gateway{gw1, gw2} {
		waitUntil(t, g.name+" sees LAPI down", func() bool {
			return !mustStatus(t, g.Lab, g.n).Daemon.CrowdSec.Reachable
		})
		if !g.blocked(t, attacker) {
			t.Errorf("%s lifted the attacker's ban while LAPI was down", g.name)
		}
	}
	back := time.Now()
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*gateway{gw1, gw2} {
		g.waitLAPI(t, back)
		if !g.blocked(t, attacker) {
			t.Errorf("%s lost the attacker's ban after LAPI came back", g.name)
		}
		if _, _, _, ok := daemonBan(mustStatus(t, g.Lab, g.n), attacker+"/32"); !ok {
			t.Errorf("%s's status lost the attacker's ban after LAPI came back", g.name)
		}
	}
}

// alertsFor counts LAPI's alerts about ip.
func alertsFor(t *testing.T, l *testutil.LAPI, ip string) int {
	t.Helper()
	// -a: alerts of every origin (without it cscli shows only its own and
	// crowdsec's).
	out, err := l.Cscli("alerts", "list", "-a", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []struct {
		Source struct {
			Value string `json:"value"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(out), &alerts); err != nil {
		t.Fatalf("cscli alerts list: %v: %s", err, out)
	}
	n := 0
	for _, a := range alerts {
		if a.Source.Value == ip {
			n++
		}
	}
	return n
}
