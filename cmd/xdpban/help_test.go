package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/urfave/cli/v2"
)

// loopIn returns the name of a command that is its own descendant in
// cmds, or "".
func loopIn(cmds []*cli.Command, path map[*cli.Command]bool) string {
	for _, c := range cmds {
		if path[c] {
			return c.Name
		}
		path[c] = true
		if name := loopIn(c.Subcommands, path); name != "" {
			return name
		}
		delete(path, c)
	}
	return ""
}

// TestHelpLeavesNoLoop: running help in-process leaves no command that
// is its own subcommand (urfave's shared help command became one, and
// the man page generator then recursed until memory ran out), so the
// page made in a process that ran help is the page of a fresh process.
func TestHelpLeavesNoLoop(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"help", "run"}, {"h", "ignore"}, {"ignore"}, {"ignore", "--help"}, {"ban", "--help"}} {
		runCLI(args...)
	}
	app := newApp(io.Discard, io.Discard)
	app.Setup()
	if name := loopIn(app.Commands, map[*cli.Command]bool{}); name != "" {
		t.Fatalf("after help ran in-process, command %q is its own subcommand", name)
	}
	code, page, errb := runCLI("man")
	if code != 0 {
		t.Fatalf("man in-process: exit %d: %s", code, errb)
	}
	var fresh bytes.Buffer
	cmd := exec.Command(binary, "man")
	cmd.Stdout = &fresh
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if page != fresh.String() {
		t.Error("the man page made after in-process help differs from a fresh process's")
	}
}

// TestRereadDoesNotGrow: a daemon re-reads its configuration at every
// reload (SIGHUP from logrotate, for months); each one builds its flags
// anew, so re-reads leave the heap and the flag values where the first
// ones left them. (Under -race a re-read takes some 60 ms: a hundred.)
func TestRereadDoesNotGrow(t *testing.T) {
	dir := t.TempDir()
	watched := filepath.Join(dir, "os4x.log")
	cfg := filepath.Join(dir, "xdpban.yaml")
	if err := os.WriteFile(cfg, []byte("maxretry: 4\nignoreip: [198.18.0.0/24]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reread := rereadOptions([]string{"xdpban", "run", "--listen", "", "--iface", "lo", "--watch-log", watched,
		"--state-dir", dir, "--config", cfg})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// A re-read that keeps memory grows the heap in step with the
	// re-reads; other goroutines of this test process move it by tens of
	// kilobytes either way. So the heap is read after 20, 60 and 100
	// re-reads, and growth counts only when both halves grew.
	var at [3]uint64
	for i := range 100 {
		o, err := reread()
		if err != nil {
			t.Fatal(err)
		}
		if len(o.WatchLogs) != 1 || len(o.Datapath.Interfaces) != 1 || o.Jail.MaxRetry != 4 {
			t.Fatalf("re-read %d: watch-log %v, iface %v, maxretry %d: flag state carried over", i, o.WatchLogs, o.Datapath.Interfaces, o.Jail.MaxRetry)
		}
		switch i {
		case 19:
			at[0] = heap()
		case 59:
			at[1] = heap()
		}
	}
	at[2] = heap()
	// 40 re-reads keeping even 800 bytes each would be 32 KB.
	first, second := int64(at[1])-int64(at[0]), int64(at[2])-int64(at[1])
	t.Logf("heap grew by %d and %d bytes over two runs of 40 re-reads", first, second)
	if first > 32<<10 && second > 32<<10 {
		t.Errorf("40 re-reads grew the heap by %d bytes, then 40 more by %d", first, second)
	}
}
