package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EReloadAppliesTheConfig: xdpban reload and SIGHUP re-read
// --config and apply maxretry and ignoreip (lifting the bans of newly
// ignored addresses), the ports (keeping every ban) and the log level; a
// change only a restart can make, and a config
// that does not validate, are refused whole with one line, and the
// running configuration stays.
func TestE2EReloadAppliesTheConfig(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	watched := filepath.Join(t.TempDir(), "os4x.log")
	if err := os.WriteFile(watched, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "xdpban.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte("watch-log: ["+watched+"]\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("maxretry: 5\n")
	d := startDaemon(t, lab, n, "--config", cfg)
	isBanned := func(a string) bool {
		code, _, _ := xb(t, append([]string{"banned", a}, n.flags()...)...)
		return code == 0
	}
	fail := func(a string, times int) {
		for range times {
			appendLine(t, watched, os4xLine(netip.MustParseAddr(a)))
		}
	}
	reload := func() (int, string) {
		code, _, errb := xb(t, "reload", "--control-socket", n.sock)
		return code, errb
	}

	must(t, append([]string{"ban", "198.18.6.1", "--duration", "1h"}, n.flags()...)...)
	write("maxretry: 2\nignoreip: [127.0.0.0/8, 198.18.6.0/24]\n")
	if code, errb := reload(); code != 0 {
		t.Fatalf("reload: exit %d, %q", code, errb)
	}
	if isBanned("198.18.6.1") {
		t.Error("the ban of an address the reload put in ignoreip stays")
	}
	fail("198.18.7.1", 2)
	waitUntil(t, "2 failures to ban under the reloaded maxretry", func() bool { return isBanned("198.18.7.1") })
	waitUntil(t, "the ban's reason to name the reloaded maxretry", func() bool {
		for _, line := range strings.Split(d.stderr.String(), "\n") {
			if strings.Contains(line, "prefix=198.18.7.1/32 ") && strings.Contains(line, `reason="2 failures within 10m"`) {
				return true
			}
		}
		return false
	})

	// Ports: the program is swapped inside the link; no ban is lost, and
	// the banned source is dropped on the new port, not the old one.
	serve(t, lab, 6619)
	serve(t, lab, 7000)
	src := lab.ClientV4
	must(t, append([]string{"ban", src.String(), "--duration", "1h"}, n.flags()...)...)
	bansBefore := len(mustStatus(t, lab, n).Bans)
	if reach(t, lab, src, lab.ServerV4, 6619) || !reach(t, lab, src, lab.ServerV4, 7000) {
		t.Fatal("before the reload a banned source is not dropped on 6619 only")
	}
	// Log level: an ignored failure is logged at debug only.
	fail("198.18.6.8", 1)
	fail("198.18.7.8", 1)
	waitUntil(t, "the counted failure in the log", func() bool { return strings.Contains(d.stderr.String(), "addr=198.18.7.8") })
	write("maxretry: 2\nignoreip: [127.0.0.0/8, 198.18.6.0/24]\nports: 7000\nlog-level: debug\n")
	if code, errb := reload(); code != 0 {
		t.Fatalf("reload with ports 7000: exit %d, %q", code, errb)
	}
	if reach(t, lab, src, lab.ServerV4, 7000) || !reach(t, lab, src, lab.ServerV4, 6619) {
		t.Error("after the reload to ports 7000 a banned source is not dropped on 7000 only")
	}
	if r := mustStatus(t, lab, n); len(r.Bans) != bansBefore || r.Ports != "7000" {
		t.Errorf("after the ports reload: %d bans (want %d), ports %q", len(r.Bans), bansBefore, r.Ports)
	}
	fail("198.18.6.9", 1)
	defer func() {
		if t.Failed() {
			t.Log(d.stderr.String())
		}
	}()
	waitUntil(t, "the ignored failure at debug", func() bool {
		return strings.Contains(d.stderr.String(), `"ignore failure by ignoreip" addr=198.18.6.9`)
	})
	if strings.Contains(d.stderr.String(), "198.18.6.8") {
		t.Error("an ignored failure was logged at info")
	}

	for body, want := range map[string]string{
		"maxretry: 1\nipv6-prefix: 64\n": "ipv6-prefix changed: restart xdpban to apply it",
		"maxretry: 0\nports: 8000\n":     "maxretry",
		"maxretry: 1\nbogus: 1\n":        `unknown key "bogus"`,
	} {
		write(body)
		code, errb := reload()
		if code != 1 || strings.Count(strings.TrimSpace(errb), "\n") != 0 || !strings.Contains(errb, want) {
			t.Errorf("reload with %q: exit %d, %q; want one line with %q", body, code, errb, want)
		}
	}
	// Still maxretry 2: one failure bans nobody, a second does.
	fail("198.18.7.2", 1)
	fail("198.18.7.3", 2)
	waitUntil(t, "the running maxretry to ban", func() bool { return isBanned("198.18.7.3") })
	if isBanned("198.18.7.2") {
		t.Error("a refused reload put maxretry 1 in force")
	}
	if reach(t, lab, src, lab.ServerV4, 7000) {
		t.Error("a refused reload changed the ports")
	}

	// SIGHUP does the same as xdpban reload.
	write("maxretry: 1\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the SIGHUP reload to be logged", func() bool {
		return strings.Count(d.stderr.String(), "configuration reloaded") == 3
	})
	fail("198.18.7.4", 1)
	waitUntil(t, "one failure to ban after SIGHUP set maxretry 1", func() bool { return isBanned("198.18.7.4") })
}
