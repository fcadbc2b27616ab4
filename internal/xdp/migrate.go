package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// migratableLayout is the one older layout a start upgrades in place:
// layout 4 kept every struct of layout 3 and only added the ban filter.
const migratableLayout = 3

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

// migrateLayout upgrades pins of migratableLayout in place, so an upgrade
// keeps the bans in force: it creates and pins the ban filter, counts every key
// of the ban map into it, and only then marks the pins as layout 4. The
// old program, still attached until the new one replaces it, deletes
// expired keys without counting them out; that leaves counters high,
// which is safe. Interrupted before the mark, the next start redoes it
// over a fresh filter.
func migrateLayout(pinDir string, spec *ebpf.CollectionSpec) error {
	if err := os.Remove(filterPin(pinDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return permissionHint("remove a half-made ban filter", err)
	}
	m := &Maps{pinDir: pinDir}
	defer m.Close()
	var err error
	if m.filterMap, err = ebpf.NewMap(filterSpec(spec)); err != nil {
		return permissionHint("create the ban filter", err)
	}
	if err := m.filterMap.Pin(filterPin(pinDir)); err != nil {
		return permissionHint("pin the ban filter", err)
	}
	if err := m.mapFilter(); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		dst  **ebpf.Map
	}{{xdpbanMapXdpbanBans, &m.bans}, {xdpbanMapXdpbanMeta, &m.meta}} {
		if *p.dst, err = ebpf.LoadPinnedMap(filepath.Join(pinDir, p.name), nil); err != nil {
			return permissionHint("open pinned map "+p.name, err)
		}
	}
	if err := m.walk(func(k *xdpbanBanKey, _ *xdpbanBanValue) { m.filter.acquire(k) }); err != nil {
		return fmt.Errorf("upgrade pins of layout %d: %w", migratableLayout, err)
	}
	var meta xdpbanMeta
	if err := m.meta.Lookup(uint32(0), &meta); err != nil {
		return fmt.Errorf("upgrade pins of layout %d: %w", migratableLayout, err)
	}
	meta.LayoutVersion = layoutVersion
	if err := m.meta.Put(uint32(0), &meta); err != nil {
		return fmt.Errorf("upgrade pins of layout %d: %w", migratableLayout, err)
	}
	return nil
}
