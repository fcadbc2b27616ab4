package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EExportImportCarriesRanges: a range ban leaves by export as its
// prefix and comes back by import as a range, so an address inside it is
// banned again.
func TestE2EExportImportCarriesRanges(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	startDaemon(t, lab, n)
	cfg := opsConfig(t, n)
	with := func(args ...string) []string { return append(args, cfg...) }

	must(t, with("ban", "198.18.9.0/24", "--duration", "1h")...)
	out := must(t, with("export")...)
	if !strings.Contains(out, `"address":"198.18.9.0/24"`) {
		t.Fatalf("export of a range ban: %q", out)
	}
	file := filepath.Join(t.TempDir(), "bans.jsonl")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, with("unban", "--all")...)
	if code, got, _ := xb(t, with("banned", "198.18.9.7")...); code == 0 {
		t.Fatalf("198.18.9.7 still banned after unban --all: %q", got)
	}
	if got := must(t, with("import", file)...); !strings.HasPrefix(got, "imported 1 of 1 bans") {
		t.Fatalf("import: %q", got)
	}
	if code, got, _ := xb(t, with("banned", "198.18.9.7")...); code != 0 {
		t.Errorf("198.18.9.7 not banned after importing its range: exit %d, %q", code, got)
	}
}
