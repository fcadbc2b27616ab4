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
// ignored addresses); a change only a restart can make, and a config
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

	for body, want := range map[string]string{
		"maxretry: 1\nports: 443\n": "ports changed: restart xdpban to apply it",
		"maxretry: 0\n":             "maxretry",
		"maxretry: 1\nbogus: 1\n":   `unknown key "bogus"`,
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

	// SIGHUP does the same as xdpban reload.
	write("maxretry: 1\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the SIGHUP reload to be logged", func() bool {
		return strings.Count(d.stderr.String(), "configuration reloaded") == 2
	})
	fail("198.18.7.4", 1)
	waitUntil(t, "one failure to ban after SIGHUP set maxretry 1", func() bool { return isBanned("198.18.7.4") })
}
