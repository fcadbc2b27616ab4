package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps two rules of the design that only the build
// graph shows: the binaries link no testing package, and the jail links
// no BPF code.
func TestDependencies(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, bin := range []string{"github.com/xdpban/xdpban/cmd/xdpban", "github.com/xdpban/xdpban/cmd/xdpbench"} {
		for _, d := range deps(bin) {
			if d == "testing" || strings.HasSuffix(d, "/internal/testutil") {
				t.Errorf("%s links %s", bin, d)
			}
		}
	}
	for _, d := range deps("github.com/xdpban/xdpban/internal/jail") {
		if strings.Contains(d, "cilium/ebpf") || strings.HasSuffix(d, "/internal/xdp") || strings.HasSuffix(d, "/internal/banset") {
			t.Errorf("internal/jail links %s", d)
		}
	}
}
