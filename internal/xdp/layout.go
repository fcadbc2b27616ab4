package xdp

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// pinnedLayout returns the layout version of the maps pinned under
// pinDir, or 0 when there are none (or nothing was written yet).
func pinnedLayout(pinDir string) (uint32, error) {
	mp, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, xdpbanMapXdpbanMeta), nil)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, permissionHint("open pinned meta map", err)
	}
	defer mp.Close()
	buf := make([]byte, mp.ValueSize())
	if err := mp.Lookup(uint32(0), buf); err != nil || len(buf) < 4 {
		return 0, nil
	}
	// layout_version is the first field of every layout's meta.
	return binary.LittleEndian.Uint32(buf), nil
}
