package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EControlSocketCannotBeTakenOverOrBypassed: a second instance on
// the daemon's socket (log-only, which holds no pins) is refused and the
// daemon stays reachable; ban and unban given a mistyped --control-socket
// refuse to write the pins behind the jail's back and name the right one.
func TestE2EControlSocketCannotBeTakenOverOrBypassed(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	startDaemon(t, lab, n)
	target := lab.ClientV4.String()
	xdpban(t, append([]string{"ban", target, "--duration", "1h"}, n.flags()...)...)

	typo := []string{"--pin-dir", n.pin, "--control-socket", n.sock + ".typo"}
	other := "198.18.0.77"
	exported := filepath.Join(t.TempDir(), "bans.jsonl")
	if err := os.WriteFile(exported, []byte(xdpban(t, append([]string{"export"}, n.flags()...)...)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"unban", target}, {"ban", other, "--duration", "1h"}, {"import", exported}} {
		out, err := exec.Command(binary, append(args, typo...)...).CombinedOutput()
		got := strings.TrimSpace(string(out))
		if err == nil || strings.Count(got, "\n") != 0 || !strings.Contains(got, "--control-socket "+n.sock) || repeatedPrefix(got) != "" {
			t.Errorf("%v with a mistyped socket: %v, %q; want one line naming %s", args, err, got, n.sock)
		}
	}
	r := mustStatus(t, lab, n)
	if _, _, _, ok := daemonBan(r, target+"/32"); !ok {
		t.Errorf("the jail lost the ban of %s", target)
	}
	if _, ok := mapBan(r, target+"/32"); !ok {
		t.Errorf("the map lost the ban of %s behind the jail's back", target)
	}
	if _, ok := mapBan(r, other+"/32"); ok {
		t.Errorf("%s was banned in the map behind the jail's back", other)
	}

	second := append([]string{"run", "--log-only", "--fail2ban-log", filepath.Join(t.TempDir(), "tls.log"),
		"--state-dir", t.TempDir(), "--control-socket", n.sock, "--pin-dir", n.pin},
		newE2EPKI(t).listenerFlags("127.0.0.1:0", "127.0.0.1:1")...)
	msg := runFails(t, lab, second...)
	if !strings.Contains(msg, "another xdpban daemon answers") {
		t.Errorf("second instance on the socket: %q, want it refused", msg)
	}
	if r := mustStatus(t, lab, n); r.Daemon == nil {
		t.Fatal("the daemon no longer answers on its socket after a second instance tried it")
	}
}
