package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/xdpban/xdpban/internal/testutil"
	"golang.org/x/sys/unix"
)

const (
	bpffsRoot  = testutil.BPFFSRoot
	namePrefix = "xdpbench-"
)

// ensureBPFFS mounts bpffs on /sys/fs/bpf when nothing is mounted there.
func ensureBPFFS() error {
	var st unix.Statfs_t
	if err := unix.Statfs(bpffsRoot, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := unix.Mount("bpf", bpffsRoot, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", bpffsRoot, err)
	}
	return nil
}

// newPinDir mounts bpffs if needed and returns a fresh pin directory path
// under our prefix (not yet created), so Sweep finds it after a crash.
func newPinDir() (string, error) {
	if err := ensureBPFFS(); err != nil {
		return "", err
	}
	return filepath.Join(bpffsRoot, namePrefix+testutil.RandomSuffix()), nil
}

// Sweep removes namespaces and pin directories an interrupted run left
// behind. It touches only names with our prefix.
func Sweep() error {
	var errs []error
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			if strings.HasPrefix(name, namePrefix) {
				if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
					errs = append(errs, fmt.Errorf("delete netns %s: %v: %s", name, err, out))
				}
			}
		}
	}
	pins, _ := filepath.Glob(filepath.Join(bpffsRoot, namePrefix+"*"))
	for _, p := range pins {
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
