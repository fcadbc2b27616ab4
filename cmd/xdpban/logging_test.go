package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestJournalPriorities: under the journal each line starts with its
// syslog priority and carries no time of its own; --log-level filters.
func TestJournalPriorities(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(&out, slog.LevelDebug, true).With("jail", "xdpban")
	log.Debug("d")
	log.Info("i")
	log.Warn("w", "addr", "198.18.0.2")
	log.Error("e")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, want := range []string{"<7>level=DEBUG msg=d", "<6>level=INFO msg=i", "<4>level=WARN msg=w", "<3>level=ERROR msg=e"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], "jail=xdpban") || strings.Contains(lines[i], "time=") {
			t.Errorf("line %d: %q, want it to start %q, with jail= and without time=", i, lines, want)
		}
	}
	out.Reset()
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	log = newLogger(&out, lv, false)
	log.Info("i")
	log.Warn("w")
	if got := out.String(); strings.Contains(got, "msg=i") || !strings.Contains(got, "time=") || strings.HasPrefix(got, "<") {
		t.Errorf("--log-level warn without the journal: %q", got)
	}
	// A reload sets the level the logger reads.
	lv.Set(slog.LevelDebug)
	out.Reset()
	log.Debug("d")
	if !strings.Contains(out.String(), "msg=d") {
		t.Errorf("after the level went to debug, a debug line is missing: %q", out.String())
	}
	if _, err := parseLogLevel("loud"); err == nil {
		t.Error("log level loud accepted")
	}
}

// TestStderrIsJournal: only the stream JOURNAL_STREAM names counts.
func TestStderrIsJournal(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Fstat(int(os.Stderr.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !stderrIsJournal() {
		t.Error("stderr is the stream JOURNAL_STREAM names, but was not taken for the journal")
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1))
	if stderrIsJournal() {
		t.Error("another stream was taken for the journal")
	}
}
