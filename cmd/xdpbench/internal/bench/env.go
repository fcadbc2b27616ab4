package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xdpban/xdpban/internal/lab"
	"golang.org/x/sys/unix"
)

const (
	bpffsRoot = lab.BPFFSRoot
	// namesStart begins every name a run gives a namespace or pin
	// directory; the run's PID follows, so Sweep can tell a crashed run's
	// leftovers from those of a run still going on the same machine.
	namesStart = "xbench"
)

// namePrefix begins the names of this run's namespaces and pins.
var namePrefix = fmt.Sprintf("%s%d-", namesStart, os.Getpid())

// stale reports whether name is one of ours whose run has ended: alive
// says whether a PID still runs.
func stale(name string, alive func(pid int) bool) bool {
	rest, ok := strings.CutPrefix(name, namesStart)
	if !ok {
		return false
	}
	digits, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	if !ok || err != nil || pid <= 0 {
		return false
	}
	return !alive(pid)
}

// running reports whether process pid exists.
func running(pid int) bool {
	return pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH
}

// newPinDir mounts bpffs if needed and returns a fresh pin directory path
// under our prefix (not yet created), so Sweep finds it after a crash.
func newPinDir() (string, error) {
	if err := lab.MountBPFFS(); err != nil {
		return "", err
	}
	return filepath.Join(bpffsRoot, namePrefix+lab.RandomSuffix()), nil
}

// Sweep removes namespaces and pin directories that runs which ended
// left behind. It leaves those of runs still going alone.
func Sweep() error {
	var errs []error
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			if stale(name, running) {
				if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
					errs = append(errs, fmt.Errorf("delete netns %s: %v: %s", name, err, out))
				}
			}
		}
	}
	pins, _ := filepath.Glob(filepath.Join(bpffsRoot, namesStart+"*"))
	for _, p := range pins {
		if !stale(filepath.Base(p), running) {
			continue
		}
		if err := os.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
