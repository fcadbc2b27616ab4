package f2blog

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchingLinesNameOnlyThatPeer(t *testing.T) {
	dir := t.TempDir()
	own, watched := filepath.Join(dir, "tls.log"), filepath.Join(dir, "os4x.log")
	lines := []string{
		"TLS error 167772359 during connect try from 198.18.0.2: peer did not return a certificate. [2026-11-25T10:00:00.000+00:00]",
		"TLS error 167772359 during connect try from 198.18.0.20: peer did not return a certificate. [2026-11-25T10:00:01.000+00:00]",
		"TLS error 167772294 during connect try from 198.18.0.2 (ACME GmbH): certificate verify failed. [2026-11-25T10:00:02.000+00:00]",
		"TLS error 167772294 during connect try from 198.18.0.9 (x during connect try from \\x31\\x39\\x38.\\x31\\x38.\\x30.\\x32\\x3a y): certificate verify failed. [2026-11-25T10:00:03.000+00:00]",
	}
	if err := os.WriteFile(own, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os4x := "TLS error 167772359 during connect try from 198.18.0.2: peer did not return a certificate.\n"
	if err := os.WriteFile(watched, []byte(os4x), 0o600); err != nil {
		t.Fatal(err)
	}
	got := MatchingLines([]string{own, watched, filepath.Join(dir, "missing.log")}, netip.MustParseAddr("198.18.0.2"), 50)
	want := []string{lines[0], lines[2], strings.TrimSuffix(os4x, "\n")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("matching lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := MatchingLines([]string{own}, netip.MustParseAddr("198.18.0.2"), 1); len(got) != 1 || got[0] != lines[2] {
		t.Errorf("at most one line: %q, want the newest", got)
	}
}
