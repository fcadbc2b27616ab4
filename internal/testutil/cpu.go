package testutil

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// OnOneCPU runs fn on one CPU, the first the test may run on: every
// BPF_PROG_TEST_RUN inside sees the same per-CPU maps, so a test can run a
// program twice and see what the first run left in its CPU's cache. The
// thread's CPU mask is restored before it goes back to the Go scheduler.
func OnOneCPU(t testing.TB, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatalf("read the thread's CPU mask: %v", err)
	}
	cpu := 0
	for cpu < len(old)*64 && !old.IsSet(cpu) {
		cpu++
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatalf("pin the thread to one CPU: %v", err)
	}
	defer func() {
		if err := unix.SchedSetaffinity(0, &old); err != nil {
			t.Errorf("restore the thread's CPU mask: %v", err)
		}
	}()
	fn()
}
