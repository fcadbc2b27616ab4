package bench

import (
	"os"
	"strconv"
	"testing"
)

// TestStale: Sweep removes the names of runs that ended and nothing else,
// not the names of a run still going, nor names that are not ours.
func TestStale(t *testing.T) {
	alive := func(pid int) bool { return pid == 42 }
	for name, want := range map[string]bool{
		"xbench7-a-1f2e3d4c":  true,
		"xbench7-s-1f2e3d4c":  true,
		"xbench42-a-1f2e3d4c": false,
		"xbench-a-1f2e3d4c":   false,
		"xbenchx-a":           false,
		"xbench7":             false,
		"xdpban-test-1234":    false,
		"other":               false,
	} {
		if got := stale(name, alive); got != want {
			t.Errorf("stale(%q) = %v, want %v", name, got, want)
		}
	}
	if stale(namePrefix+"a-1", running) {
		t.Errorf("this run's own name %q counts as stale", namePrefix+"a-1")
	}
	if namePrefix != "xbench"+strconv.Itoa(os.Getpid())+"-" {
		t.Errorf("namePrefix %q does not carry the PID", namePrefix)
	}
}
