package testutil

import (
	"os"
	"testing"
)

// RequireRoot skips a test that needs the kernel when not run as root. CI
// runs as root and fails the run when any test was skipped, so a skip here
// can only hide a test on a developer's unprivileged machine.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for BPF and network namespaces (CI runs as root and fails on skips)")
	}
}
