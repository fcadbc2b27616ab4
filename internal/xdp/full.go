package xdp

import (
	"errors"

	"golang.org/x/sys/unix"
)

// isFull recognises the kernel's answer to an insert into a full hash map.
func isFull(err error) bool {
	return errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.ENOMEM)
}
