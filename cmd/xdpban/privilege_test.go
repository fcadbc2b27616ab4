package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestWithoutPrivilegesSaysWhatToGrant runs commands as an unprivileged
// user: the one-line error must name the capabilities to grant, whatever
// the mode of bpffs (.ci/test.sh runs it on a 0700 and a 1777 mount).
func TestWithoutPrivilegesSaysWhatToGrant(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) missing: %v", err)
	}
	pin := testutil.PinDir(t)
	// Somewhere nobody may write, so that only the missing privileges fail.
	dir := publicTempDir(t)
	for _, args := range [][]string{
		{"status", "--pin-dir", pin, "--control-socket", dir + "/s"},
		{"ban", "198.18.0.9", "--pin-dir", pin, "--control-socket", dir + "/s"},
		{"unban", "198.18.0.9", "--pin-dir", pin, "--control-socket", dir + "/s"},
		{"detach", "--pin-dir", pin},
		{"run", "--listen", "", "--iface", "lo", "--pin-dir", pin, "--state-dir", dir + "/state", "--control-socket", dir + "/s"},
	} {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", binary}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%v as nobody succeeded:\n%s", args, out)
			continue
		}
		msg := strings.TrimSpace(string(out))
		if !strings.Contains(msg, "CAP_BPF") || strings.Count(msg, "\n") != 0 {
			t.Errorf("%v as nobody: want one line naming CAP_BPF, got:\n%s", args, msg)
		}
	}
}

// publicTempDir is a temporary directory that nobody may write in
// (t.TempDir's parent is private to root), removed when the test ends.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "xdpban-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunsWithTheUnitCapabilities runs `xdpban run` as the unit does: uid
// 0 whose capabilities are bounded to those deploy/systemd/xdpban.service
// grants (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON; no CAP_SYS_ADMIN, no
// CAP_DAC_OVERRIDE). It loads (the clock probe included), attaches, pins,
// maps the ban filter, and a ban made through it drops the attacker's
// SYNs. The set is read from the unit file, so the unit and this proof
// cannot drift apart.
func TestRunsWithTheUnitCapabilities(t *testing.T) {
	testutil.RequireRoot(t)
	caps := unitCapabilities(t)
	lab := testutil.NewLab(t)
	serve(t, lab, 6619)
	n := newNode(t)
	t.Cleanup(func() { exec.Command(binary, "detach", "--pin-dir", n.pin).Run() })
	set := "-all," + strings.Join(caps, ",")
	args := append([]string{"--inh-caps=" + set, "--ambient-caps=" + set, "--bounding-set=" + set, binary,
		"run", "--iface", lab.ServerIf, "--listen", "", "--fail2ban-log", "", "--state-dir", n.state}, n.flags()...)
	d := &daemonProc{cmd: testutil.Command(lab.Server, "setpriv", args...), done: make(chan struct{})}
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.kill(syscall.SIGKILL) })
	for !strings.Contains(d.stderr.String(), "xdpban running") {
		select {
		case <-d.done:
			t.Fatalf("xdpban run with %v exited:\n%s", caps, d.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !reach(t, lab, lab.ClientV4, lab.ServerV4, 6619) {
		t.Fatal("the attacker cannot connect before any ban")
	}
	xdpban(t, append([]string{"ban", lab.ClientV4.String(), "--duration", "1m"}, n.flags()...)...)
	if reach(t, lab, lab.ClientV4, lab.ServerV4, 6619) {
		t.Fatalf("banned through a daemon with %v, the attacker still connects:\n%s", caps, d.stderr.String())
	}
	d.kill(syscall.SIGTERM)
}

// unitCapabilities reads AmbientCapabilities from the shipped unit, in
// setpriv's spelling (+bpf, +net_admin, ...).
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/systemd/xdpban.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "AmbientCapabilities="); ok {
			var caps []string
			for _, c := range strings.Fields(v) {
				caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
			}
			return caps
		}
	}
	t.Fatal("xdpban.service has no AmbientCapabilities line")
	return nil
}
