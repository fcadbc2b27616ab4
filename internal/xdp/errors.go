package xdp

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotLoaded: nothing is pinned under the pin directory.
	ErrNotLoaded = errors.New("xdpban is not loaded (no pinned maps): start it with `xdpban run --iface NAME`")
	// ErrIncompatible: the pinned maps were made by another layout or size.
	ErrIncompatible = errors.New("pinned maps do not match this xdpban")
	// ErrFull: the ban map has reached --max-bans.
	ErrFull = errors.New("ban map is full")
	// ErrLocked: another daemon holds the pin directory.
	ErrLocked = errors.New("another xdpban daemon is running on this pin directory")
	// ErrNoBPFFS: the pin directory is not on a bpf filesystem.
	ErrNoBPFFS = errors.New("not on a bpf filesystem")
	// ErrNotBanned: unban of something that is not in the map.
	ErrNotBanned = errors.New("not banned")
)

// permissionHint turns EPERM/EACCES into an error that says what to grant.
func permissionHint(op string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%s: %w (run as root, or grant CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON)", op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
