package xdp

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The range count and the hit generation are globals in data sections of
// their own, which the program reads with one load and userspace maps
// into its memory; each comes pinned with the map it belongs to (the
// range trie, the hit cache), added by a later layout than the ban map.

// mapGlobal maps the page of a global's map into this process,
// read-write; what names it in the error.
func mapGlobal(m *ebpf.Map, what string) ([]byte, error) {
	mem, err := unix.Mmap(m.FD(), 0, unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, permissionHint("map the "+what, err)
	}
	return mem, nil
}

// loadPinnedPair opens the maps pinned as name and its global's pin.
// Pins of an xdpban that predates them lack them, which is no error:
// both come back nil.
func loadPinnedPair(pinDir, name, global string, opts *ebpf.LoadPinOptions) (m, g *ebpf.Map, err error) {
	m, err = ebpf.LoadPinnedMap(filepath.Join(pinDir, name), opts)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, permissionHint("open pinned map "+name, err)
	}
	g, err = ebpf.LoadPinnedMap(filepath.Join(pinDir, global), opts)
	if err != nil {
		m.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, permissionHint("open pinned map "+global, err)
	}
	return m, g, nil
}
