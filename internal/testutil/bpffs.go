package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xdpban/xdpban/internal/lab"
)

// EnsureBPFFS is MountBPFFS for a test.
func EnsureBPFFS(tb testing.TB) {
	tb.Helper()
	if err := lab.MountBPFFS(); err != nil {
		tb.Fatal(err)
	}
}

// PinDir returns a fresh pin directory path under bpffs (not yet created),
// removed with everything in it when the test ends.
func PinDir(tb testing.TB) string {
	tb.Helper()
	EnsureBPFFS(tb)
	dir := filepath.Join(lab.BPFFSRoot, "xdpban-test-"+lab.RandomSuffix())
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			tb.Errorf("remove pin dir %s: %v", dir, err)
		}
	})
	return dir
}
