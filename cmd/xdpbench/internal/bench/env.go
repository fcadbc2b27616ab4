package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/xdpban/xdpban/internal/lab"
)

const (
	bpffsRoot  = lab.BPFFSRoot
	namePrefix = "xdpbench-"
)

// newPinDir mounts bpffs if needed and returns a fresh pin directory path
// under our prefix (not yet created), so Sweep finds it after a crash.
func newPinDir() (string, error) {
	if err := lab.MountBPFFS(); err != nil {
		return "", err
	}
	return filepath.Join(bpffsRoot, namePrefix+lab.RandomSuffix()), nil
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
