package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// xb runs the built xdpban and returns its exit status and output.
func xb(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("xdpban %v: %v", args, err)
	return 0, "", ""
}

// must runs xdpban and fails the test unless it exits 0.
func must(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errb := xb(t, args...)
	if code != 0 {
		t.Fatalf("xdpban %v: exit %d\n%s%s", args, code, out, errb)
	}
	return out
}

// opsConfig is the node's config file: the commands find pins, socket
// and store through it alone.
func opsConfig(t *testing.T, n node) []string {
	return []string{"--config", writeFile(t, "pin-dir: "+n.pin+"\ncontrol-socket: "+n.sock+"\nstate-dir: "+n.state+"\n")}
}

// TestE2EBulkAndQueryCommands: ban and unban several, banned with its
// exit status, history, ignore add/del/list and unban --all, through a
// running daemon and then on the pins and store with none, each command
// given only --config.
func TestE2EBulkAndQueryCommands(t *testing.T) {
	testutil.RequireRoot(t)
	lab := testutil.NewLab(t)
	n := newNode(t)
	d := startDaemon(t, lab, n)
	cfg := opsConfig(t, n)
	with := func(args ...string) []string { return append(args, cfg...) }

	for _, phase := range []string{"daemon", "pins"} {
		if phase == "pins" {
			d.kill(syscall.SIGTERM)
			must(t, with("unban", "--all")...)
		}
		out := must(t, with("ban", "198.18.3.1", "198.18.3.2", "198.18.4.1", "--duration", "1h")...)
		if strings.Count(out, "banned ") != 3 || !strings.Contains(out, "banned 198.18.3.1 for ") {
			t.Fatalf("%s: ban of three, each a bare address as status lists it: %q", phase, out)
		}
		code, out, _ := xb(t, with("banned", "198.18.3.1", "198.18.9.9")...)
		if code != 3 || !strings.Contains(out, "198.18.3.1 banned for ") || !strings.Contains(out, "198.18.9.9 not banned") {
			t.Errorf("%s: banned with one not banned: exit %d, %q; want 3 and one line each", phase, code, out)
		}
		// The longest ban reads in years and days, not as 876599h59m.
		must(t, with("ban", "198.18.6.9", "--duration", "100y")...)
		if code, out, _ := xb(t, with("banned", "198.18.6.9")...); code != 0 || !strings.Contains(out, "198.18.6.9 banned for 99y365d") {
			t.Errorf("%s: banned for 100y: exit %d, %q; want it in years and days", phase, code, out)
		}
		must(t, with("unban", "198.18.6.9")...)
		if code, out, _ := xb(t, with("banned", "198.18.3.1", "198.18.3.2")...); code != 0 {
			t.Errorf("%s: banned, both banned: exit %d, %q", phase, code, out)
		}
		out = must(t, with("status")...)
		if !strings.Contains(out, "Currently banned:\t3") || !strings.Contains(out, "198.18.3.1") || strings.Contains(out, "198.18.3.1/32") {
			t.Errorf("%s: status wants 3 bans listed as bare addresses:\n%s", phase, out)
		}
		out = must(t, with("history", "198.18.3.1")...)
		if !strings.Contains(out, "Banned now:\tyes") {
			t.Errorf("%s: history of a banned address:\n%s", phase, out)
		}
		if phase == "daemon" && !strings.Contains(out, "Ban count:\t1") {
			t.Errorf("history counts the ban:\n%s", out)
		}
		out = must(t, with("unban", "198.18.3.1", "198.18.3.2")...)
		if strings.Count(out, "unbanned ") != 2 || !strings.Contains(out, "unbanned 198.18.3.1\n") {
			t.Errorf("%s: unban of two: %q", phase, out)
		}
		code, _, errb := xb(t, with("unban", "198.18.3.1")...)
		if code != 1 || strings.Count(strings.TrimSpace(errb), "\n") != 0 || repeatedPrefix(errb) != "" || !strings.Contains(errb, "not banned") {
			t.Errorf("%s: unban of an address not banned: exit %d, %q; want one line without a repeated prefix", phase, code, errb)
		}
		out = must(t, with("ignore", "add", "198.18.4.0/24")...)
		if !strings.Contains(out, "lifted 1 ban") {
			t.Errorf("%s: ignore add over a ban: %q", phase, out)
		}
		if code, _, _ := xb(t, with("banned", "198.18.4.1")...); code != 3 {
			t.Errorf("%s: an address ignore add covers is still banned", phase)
		}
		if code, _, errb := xb(t, with("ban", "198.18.4.7")...); code != 1 || !strings.Contains(errb, "covers an ignoreip address") {
			t.Errorf("%s: a ban of an address ignore add covers: exit %d, %q; want it refused", phase, code, errb)
		}
		if out := must(t, with("ignore", "list")...); !strings.Contains(out, "198.18.4.0/24\n") || !strings.Contains(out, "127.0.0.0/8") {
			t.Errorf("%s: ignore list: %q", phase, out)
		}
		if phase == "daemon" {
			// Kept across a restart.
			d.kill(syscall.SIGTERM)
			d = startDaemon(t, lab, n)
			if out := must(t, with("ignore", "list")...); !strings.Contains(out, "198.18.4.0/24") {
				t.Errorf("ignore add lost across a restart: %q", out)
			}
		}
		must(t, with("ignore", "del", "198.18.4.0/24")...)
		if code, _, errb := xb(t, with("ignore", "del", "127.0.0.0/8")...); code != 1 || !strings.Contains(errb, "comes from --ignoreip") {
			t.Errorf("%s: ignore del of a configured entry: exit %d, %q", phase, code, errb)
		}
		must(t, with("ban", "198.18.5.1", "198.18.5.2", "198.18.6.0/24")...)
		if code, out, _ := xb(t, with("banned", "198.18.6.9")...); code != 0 || !strings.Contains(out, "(by the ban of 198.18.6.0/24)") {
			t.Errorf("%s: an address in a banned range: exit %d, %q", phase, code, out)
		}
		if out := must(t, with("unban", "--all")...); !strings.Contains(out, "unbanned 3") {
			t.Errorf("%s: unban --all over three bans: %q", phase, out)
		}
		if code, out, _ := xb(t, with("banned", "198.18.3.2", "198.18.5.1")...); code != 3 || strings.Contains(out, " banned for") {
			t.Errorf("%s: bans left after unban --all: %q", phase, out)
		}
	}
}
