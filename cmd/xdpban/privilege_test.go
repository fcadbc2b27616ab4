package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestWithoutPrivilegesSaysWhatToGrant runs commands as an unprivileged
// user: the one-line error must name the capabilities to grant.
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
