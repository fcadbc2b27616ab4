package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
)

func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never written", path)
	return ""
}

func TestOnBanGetsTheBanInItsEnvironment(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	h := newHooks("env | grep ^XDPBAN_ | sort > "+out, "", 10*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	b := jail.Ban{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Start: start, End: start.Add(2 * time.Hour), Origin: jail.OriginJail, Count: 2}
	line := `TLS error 167772359 during connect try from 198.18.0.2: peer did not return a certificate. [2026-11-25T09:59:59.000+00:00]`
	h.ban(b, []event.Failure{{Addr: b.Prefix.Addr(), Line: line}})
	env := waitFile(t, out)
	for _, want := range []string{
		"XDPBAN_ACTION=ban", "XDPBAN_IP=198.18.0.2", "XDPBAN_PREFIX=198.18.0.2/32",
		"XDPBAN_BANTIME=7200", "XDPBAN_BANCOUNT=2", "XDPBAN_ORIGIN=jail", "XDPBAN_MATCHES=" + line,
	} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("hook environment lacks %q:\n%s", want, env)
		}
	}
}

func TestHooksAreBoundedAndFailuresCounted(t *testing.T) {
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	// Each hook waits for the release file: all maxHooks slots stay busy.
	h := newHooks("while [ ! -e "+release+" ]; do sleep 0.02; done; exit 3", "", 10*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	failed := make(chan string, 16)
	h.failed = func(kind string) { failed <- kind }
	b := jail.Ban{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Origin: jail.OriginManual, Count: 1}
	for i := 0; i < maxHooks+2; i++ {
		h.ban(b, nil)
	}
	// The two over the limit are dropped at once, without waiting.
	for i := 0; i < 2; i++ {
		select {
		case <-failed:
		case <-time.After(5 * time.Second):
			t.Fatal("hooks over the limit were not dropped")
		}
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The running ones exit 3: each failure is reported.
	for i := 0; i < maxHooks; i++ {
		select {
		case kind := <-failed:
			if kind != "on-ban" {
				t.Errorf("failure kind %q", kind)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d failing hooks reported", i, maxHooks)
		}
	}
}

func TestHookTimeoutKillsTheCommand(t *testing.T) {
	h := newHooks("sleep 30", "", 200*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	failed := make(chan string, 1)
	h.failed = func(kind string) { failed <- kind }
	h.ban(jail.Ban{Prefix: netip.MustParsePrefix("198.18.0.2/32")}, nil)
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("a hook past its timeout was not ended")
	}
}

func TestOnBanMatchesComeFromTheLogs(t *testing.T) {
	dir := t.TempDir()
	logFile, out := filepath.Join(dir, "tls.log"), filepath.Join(dir, "matches")
	var lines []string
	for i := 0; i < 3; i++ {
		lines = append(lines, fmt.Sprintf("TLS error 167772359 during connect try from 198.18.0.2: peer did not return a certificate. [2026-11-25T10:00:0%d.000+00:00]", i))
	}
	if err := os.WriteFile(logFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHooks(`printf '%s' "$XDPBAN_MATCHES" > `+out, "", 10*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.logs = []string{logFile}
	h.ban(jail.Ban{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Origin: jail.OriginJail, Count: 1}, nil)
	if got := waitFile(t, out); got != strings.Join(lines, "\n") {
		t.Errorf("XDPBAN_MATCHES:\n%s\nwant the three failures:\n%s", got, strings.Join(lines, "\n"))
	}
}

// The failure that completes the count is written to the log after the
// ban, so the hook may run before its line is there: it is added from the
// failure, once.
func TestOnBanMatchesIncludeTheFailureNotYetLogged(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := 0; i < 3; i++ {
		lines = append(lines, fmt.Sprintf("TLS error 167772359 during connect try from 198.18.0.2: peer did not return a certificate. [2026-11-25T10:00:0%d.000+00:00]", i))
	}
	for _, logged := range []int{2, 3} {
		logFile, out := filepath.Join(dir, fmt.Sprintf("tls%d.log", logged)), filepath.Join(dir, fmt.Sprintf("matches%d", logged))
		if err := os.WriteFile(logFile, []byte(strings.Join(lines[:logged], "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		h := newHooks(`printf '%s' "$XDPBAN_MATCHES" > `+out, "", 10*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
		h.logs = []string{logFile}
		h.ban(jail.Ban{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Origin: jail.OriginJail, Count: 1},
			[]event.Failure{{Addr: netip.MustParseAddr("198.18.0.2"), Line: lines[2]}})
		if got := waitFile(t, out); got != strings.Join(lines, "\n") {
			t.Errorf("%d lines logged: XDPBAN_MATCHES:\n%s\nwant the three failures once:\n%s", logged, got, strings.Join(lines, "\n"))
		}
	}
}
