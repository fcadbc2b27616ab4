package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EExportImport: export writes every ban as a JSON line; import
// reads them back with their end and ban count, through the daemon and
// without one.
func TestE2EExportImport(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	d := startDaemon(t, lab, n, "--bantime-increment")
	cfg := opsConfig(t, n)
	with := func(args ...string) []string { return append(args, cfg...) }

	// A second ban after an unban is the address's second (a ban on a
	// banned address only prolongs it).
	must(t, with("ban", "198.18.8.1", "--duration", "2h")...)
	must(t, with("unban", "198.18.8.1")...)
	must(t, with("ban", "198.18.8.1", "--duration", "3h")...)
	must(t, with("ban", "2001:db8::8", "--duration", "-1")...)
	out := must(t, with("export")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("export of two bans: %q", out)
	}
	var first banLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Address != "198.18.8.1" || first.End == nil || first.BanCount != 2 || first.Origin != "manual" || first.Reason == "" {
		t.Errorf("export line %s", lines[0])
	}
	if !strings.Contains(lines[1], `"address":"2001:db8::8"`) || !strings.Contains(lines[1], `"permanent":true`) {
		t.Errorf("export of a permanent ban: %s", lines[1])
	}
	file := filepath.Join(t.TempDir(), "bans.jsonl")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, phase := range []string{"daemon", "pins"} {
		if phase == "pins" {
			d.kill(syscall.SIGTERM)
		}
		must(t, with("unban", "--all")...)
		if got := must(t, with("import", file)...); !strings.HasPrefix(got, "imported 2 of 2 bans") {
			t.Errorf("%s: import: %q", phase, got)
		}
		code, got, _ := xb(t, with("banned", "198.18.8.1", "2001:db8::8")...)
		if code != 0 || !strings.Contains(got, "2001:db8::8 banned permanently") {
			t.Errorf("%s: after import: exit %d, %q", phase, code, got)
		}
		again := strings.Split(strings.TrimSpace(must(t, with("export")...)), "\n")
		var l banLine
		if len(again) != 2 || json.Unmarshal([]byte(again[0]), &l) != nil || l.End == nil || l.End.Sub(*first.End).Abs() > time.Second {
			t.Errorf("%s: export after import: %q; want the end of %s", phase, again, lines[0])
		}
		// Without the daemon the store still knows the count and origin.
		if l.BanCount != 2 || l.Origin != "manual" {
			t.Errorf("%s: export after import: %s; want ban_count 2 and origin manual", phase, again[0])
		}
	}
	// The daemon takes the counts over from the store: the next ban of the
	// address is its third.
	startDaemon(t, lab, n, "--bantime-increment")
	if h := must(t, with("history", "198.18.8.1")...); !strings.Contains(h, "Ban count:\t2") {
		t.Errorf("ban count after import:\n%s", h)
	}

	if code, _, errb := xb(t, with("import", writeFile(t, "{\"address\":\"198.18.8.2\",\"permanent\":true}\nnot json\n"))...); code != 1 || !strings.Contains(errb, "line 2") {
		t.Errorf("import of a bad line: exit %d, %q; want the line named", code, errb)
	}
	if code, out, _ := xb(t, with("banned", "198.18.8.2")...); code != 3 {
		t.Errorf("a file with a bad line banned something: %q", out)
	}
}

// TestE2EImportRate measures bans per second of one import into a
// running daemon against xdpban ban one address per process, in the same
// run; the figure goes to the log (make test -v), the test asserts only
// that every ban arrived.
func TestE2EImportRate(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	startDaemon(t, lab, n)
	const total = 200000
	var b strings.Builder
	end := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	base := netip.MustParseAddr("2001:db8:1::").As16()
	for i := range total {
		a := base
		a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		fmt.Fprintf(&b, `{"address":%q,"end":%q,"ban_count":1,"origin":"imported"}`+"\n", netip.AddrFrom16(a), end)
	}
	cmd := exec.Command(binary, append([]string{"import", "-"}, n.flags()...)...)
	cmd.Stdin = strings.NewReader(b.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil || !strings.HasPrefix(string(out), fmt.Sprintf("imported %d of %d", total, total)) {
		t.Fatalf("import: %v, %s", err, out)
	}
	m := regexp.MustCompile(`in (\S+)`).FindStringSubmatch(string(out))
	inner, _ := time.ParseDuration(m[1])

	const single = 100
	start = time.Now()
	for i := range single {
		must(t, append([]string{"ban", "198.18.9." + strconv.Itoa(i)}, n.flags()...)...)
	}
	perBan := time.Since(start) / single
	rate := float64(total) / took.Seconds()
	t.Logf("import of %d bans into a running daemon: %v with the process (%.0f bans/s), %v inside it (%.0f bans/s); xdpban ban per address: %v each (%.0f bans/s); ratio %.0fx",
		total, took.Round(time.Millisecond), rate, inner, float64(total)/inner.Seconds(), perBan.Round(time.Microsecond), 1/perBan.Seconds(), rate*perBan.Seconds())
	if r := mustStatus(t, lab, n); r.Daemon.Failed.CurrentlyBanned != total+single {
		t.Errorf("currently banned %d, want %d", r.Daemon.Failed.CurrentlyBanned, total+single)
	}
}
