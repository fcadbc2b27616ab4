package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EBanWithoutDaemonHonoursConfigIgnoreIP: with the daemon stopped and
// an ignoreip added to the config file since it ran, `ignore list --config`
// shows the entry; `ban` and `import` with the same --config must refuse
// it too, not read only the list the daemon saved at its last start.
func TestE2EBanWithoutDaemonHonoursConfigIgnoreIP(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	d := startDaemon(t, lab, n)
	d.kill(syscall.SIGTERM)
	cfg := []string{"--config", writeFile(t, "pin-dir: "+n.pin+"\ncontrol-socket: "+n.sock+
		"\nstate-dir: "+n.state+"\nignoreip: [\"127.0.0.0/8\", \"198.18.60.0/24\"]\n")}
	with := func(args ...string) []string { return append(args, cfg...) }

	if out := must(t, with("ignore", "list")...); !strings.Contains(out, "198.18.60.0/24") {
		t.Fatalf("ignore list --config: %q; want the config's 198.18.60.0/24", out)
	}
	code, out, errb := xb(t, with("ban", "198.18.60.5", "--duration", "1h")...)
	if code != 1 || !strings.Contains(errb, "refused: it covers an ignoreip address (198.18.60.0/24)") {
		t.Errorf("ban of a config-ignored address without the daemon: exit %d, %q %q; want it refused", code, out, errb)
	}
	imp := writeFile(t, `{"address":"198.18.60.6","permanent":true,"ban_count":1,"origin":"manual"}`+"\n"+
		`{"address":"198.18.61.6","permanent":true,"ban_count":1,"origin":"manual"}`+"\n")
	if out := must(t, with("import", imp)...); !strings.Contains(out, "imported 1 of 2") {
		t.Errorf("import without the daemon: %q; want the config-ignored ban skipped", out)
	}
	code, out, _ = xb(t, with("banned", "198.18.60.5", "198.18.60.6")...)
	if code != 3 || strings.Count(out, " not banned") != 2 {
		t.Errorf("banned after the refusals: exit %d, %q; want neither banned", code, out)
	}
	// The saved list still applies beside the config's.
	if code, _, errb := xb(t, with("ban", "127.0.0.1")...); code != 1 || !strings.Contains(errb, "127.0.0.0/8") {
		t.Errorf("ban 127.0.0.1: exit %d, %q; want refused", code, errb)
	}
	if out := must(t, with("ban", "198.18.61.7", "--duration", "1h")...); !strings.Contains(out, "banned 198.18.61.7 for ") {
		t.Errorf("ban of an address nothing ignores: %q", out)
	}
}
