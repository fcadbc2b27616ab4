package xdp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/cilium/ebpf"
)

// layoutVersion is XDPBAN_LAYOUT_VERSION of bpf/xdpban.h.
const layoutVersion = uint32(xdpbanXdpbanConstXDPBAN_LAYOUT_VERSION)

// Maps is a handle on the pinned maps: all that ban, unban and status need,
// with or without a running daemon.
type Maps struct {
	bans, stats, meta, filterMap *ebpf.Map
	filter                       *countingFilter // nil on read-only handles
	lock                         *os.File        // OpenDirect's shared lock
	ranges                       *rangeMaps      // nil on pins that predate range bans
	hits                         *ebpf.Map       // the hit cache; nil on pins that predate it
	gen                          *hitGen         // its generation, with hits
	pinDir                       string
	ipv6Prefix                   int
	ports                        atomic.Pointer[Ports] // a daemon's reload may change them
	maxBans                      uint32
}

// OpenPinned opens the maps pinned under pinDir. Read-only handles are for
// commands that only look (status), so they cannot change state by mistake.
func OpenPinned(pinDir string, readOnly bool) (*Maps, error) {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	if err := requireCaps("open pins", mapCaps); err != nil {
		return nil, err
	}
	if err := checkBPFFS(pinDir); err != nil {
		return nil, err
	}
	opts := &ebpf.LoadPinOptions{ReadOnly: readOnly}
	m := &Maps{pinDir: pinDir}
	// The meta map first: pins of another layout are refused by their
	// layout, also when they lack maps this xdpban has.
	for _, p := range []struct {
		name string
		dst  **ebpf.Map
	}{{xdpbanMapXdpbanMeta, &m.meta}, {xdpbanMapXdpbanBans, &m.bans}, {xdpbanMapXdpbanStats, &m.stats}, {filterPinName, &m.filterMap}} {
		mp, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, p.name), opts)
		if err != nil {
			m.Close()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("open %s: %w", pinDir, ErrNotLoaded)
			}
			return nil, permissionHint("open pinned map "+p.name, err)
		}
		*p.dst = mp
		if p.dst == &m.meta {
			if err := m.readMeta(); err != nil {
				m.Close()
				return nil, err
			}
		}
	}
	if err := m.readCapacity(); err != nil {
		m.Close()
		return nil, err
	}
	if !readOnly {
		if err := m.mapFilter(); err != nil {
			m.Close()
			return nil, err
		}
	}
	if err := m.openPinnedRanges(opts, !readOnly); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.openPinnedHits(opts, !readOnly); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// openPinnedRanges opens the range maps; pins of an xdpban that predates
// them have none, which reads as no range banned.
func (m *Maps) openPinnedRanges(opts *ebpf.LoadPinOptions, writable bool) error {
	trie, count, err := loadPinnedPair(m.pinDir, xdpbanMapXdpbanRanges, rangeCountPin, opts)
	if trie == nil {
		return err
	}
	r, err := openRanges(trie, count, writable)
	if err != nil {
		trie.Close()
		count.Close()
		return err
	}
	m.ranges = r
	return nil
}

func (m *Maps) mapFilter() error {
	f, err := mapFilter(m.filterMap)
	if err != nil {
		return err
	}
	m.filter = f
	return nil
}

func (m *Maps) readMeta() error {
	var meta xdpbanMeta
	if err := m.meta.Lookup(uint32(0), &meta); err != nil {
		return fmt.Errorf("read %s: %w", xdpbanMapXdpbanMeta, err)
	}
	if err := checkLayout(meta.LayoutVersion); err != nil {
		return err
	}
	m.ipv6Prefix = int(meta.Ipv6Prefix)
	ports := portsFromBitmap(meta.AllPorts != 0, meta.PortBitmap)
	m.ports.Store(&ports)
	return nil
}

// readCapacity reads the ban map's size.
func (m *Maps) readCapacity() error {
	info, err := m.bans.Info()
	if err != nil {
		return fmt.Errorf("read ban map info: %w", err)
	}
	m.maxBans = info.MaxEntries
	return nil
}

func (m *Maps) writeMeta(cfg Config) error {
	meta := xdpbanMeta{
		LayoutVersion: layoutVersion,
		Ipv6Prefix:    uint32(cfg.IPv6Prefix),
		PortBitmap:    cfg.Ports.bitmap(),
	}
	if cfg.Ports.All {
		meta.AllPorts = 1
	}
	if err := m.meta.Put(uint32(0), &meta); err != nil {
		return fmt.Errorf("write %s: %w", xdpbanMapXdpbanMeta, err)
	}
	if err := m.readMeta(); err != nil {
		return err
	}
	return m.readCapacity()
}

// PinDir is where the maps are pinned.
func (m *Maps) PinDir() string { return m.pinDir }

// IPv6Prefix is the ban prefix length for IPv6 sources.
func (m *Maps) IPv6Prefix() int { return m.ipv6Prefix }

// Ports are the protected ports the program was loaded with.
func (m *Maps) Ports() Ports {
	if p := m.ports.Load(); p != nil {
		return *p
	}
	return Ports{}
}

// MaxBans is the capacity of the ban map.
func (m *Maps) MaxBans() uint32 { return m.maxBans }

// Close releases the file descriptors; the pins stay.
func (m *Maps) Close() error {
	errs := []error{m.filter.close(), m.ranges.close(), m.gen.close()}
	for _, mp := range []*ebpf.Map{m.bans, m.stats, m.meta, m.filterMap, m.hits} {
		if mp != nil {
			errs = append(errs, mp.Close())
		}
	}
	// The lock goes last: a daemon waiting for it finds the write done.
	if m.lock != nil {
		errs = append(errs, m.lock.Close())
	}
	return errors.Join(errs...)
}

// checkLayout refuses maps pinned by an xdpban with other structs.
func checkLayout(version uint32) error {
	if version != layoutVersion {
		return fmt.Errorf("pinned maps have layout %d, this xdpban uses %d: %w (run `xdpban detach` to remove them, which drops the bans, then start again)",
			version, layoutVersion, ErrIncompatible)
	}
	return nil
}
