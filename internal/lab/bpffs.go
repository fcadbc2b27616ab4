package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"golang.org/x/sys/unix"
)

// BPFFSRoot is where tests pin: the system's bpffs, mounted if missing.
const BPFFSRoot = "/sys/fs/bpf"

// MountBPFFS mounts bpffs on /sys/fs/bpf when nothing is mounted there,
// as systemd does at boot on a normal machine.
func MountBPFFS() error {
	var st unix.Statfs_t
	if err := unix.Statfs(BPFFSRoot, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := unix.Mount("bpf", BPFFSRoot, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs on %s: %w", BPFFSRoot, err)
	}
	return nil
}

// RandomSuffix gives a short random name part, so parallel runs and
// leftovers of a crashed run never collide.
func RandomSuffix() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
