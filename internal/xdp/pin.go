package xdp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const linkPinPrefix = "link_"

// checkBPFFS makes sure dir (or, when it does not exist yet, its parent) is
// on a bpf filesystem: pins anywhere else fail with a confusing EPERM.
func checkBPFFS(dir string) error {
	probe := dir
	for {
		var st unix.Statfs_t
		err := unix.Statfs(probe, &st)
		if err == nil {
			if st.Type != unix.BPF_FS_MAGIC {
				return fmt.Errorf("pin directory %s: %w (mount one as systemd does: mount -t bpf -o mode=0700 bpf /sys/fs/bpf)", dir, ErrNoBPFFS)
			}
			return nil
		}
		if !errors.Is(err, unix.ENOENT) || probe == "/" {
			return permissionHint("pin directory "+dir, err)
		}
		probe = filepath.Dir(probe)
	}
}

// lockDir takes an exclusive, non-blocking flock on the pin directory, as
// tubular does: a second daemon on the same pins would fight over links.
// The lock goes away with the process, also on SIGKILL.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock pin directory: %w", err)
	}
	deadline := time.Now().Add(sharedLockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock pin directory: %w", err)
		}
		// A command writing without a daemon holds it shared for one
		// write: wait for it, but not for a daemon.
		if !onlySharedHolders(dir) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, ErrLocked)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkPinPath is where the BPF link for one interface is pinned.
func linkPinPath(dir, ifname string) string {
	return filepath.Join(dir, linkPinPrefix+ifname)
}

// pinnedLinkNames lists the interface names that have a pinned link.
func pinnedLinkNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutPrefix(e.Name(), linkPinPrefix); ok {
			names = append(names, name)
		}
	}
	return names, nil
}
