package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The hit cache (struct hit_entry in bpf/xdpban.h) lets a banned packet
// whose ban its CPU found recently drop without the hash-map lookup. What
// userspace owes it is in this file: bump the generation after every
// write to the ban map, and add the drops still pending in the cache when
// it reads a ban's counters.

// hitGenSection holds the generation in the object; the loader pins the
// map made from it as hitGenPin.
const (
	hitGenSection = ".data.xdpban_gen"
	hitGenPin     = "xdpban_gen"
)

// DefaultHitTTL bounds how long a CPU trusts a ban it cached: a ban
// deleted or shortened around xdpban (bpftool, an older xdpban), which
// does not bump the generation, stops dropping within this plus a tick.
// A lookup per CPU and banned source this often costs nothing measurable.
const DefaultHitTTL = 10 * time.Millisecond

// hitSlots is XDPBAN_HIT_SLOTS: the cache's entries per CPU.
const (
	hitSlots    = int(xdpbanXdpbanConstXDPBAN_HIT_SLOTS)
	hitSlotBits = int(xdpbanXdpbanConstXDPBAN_HIT_SLOT_BITS)
)

// hitSlotOf mirrors hit_slot() in bpf/xdpban.h: the key's cache entry.
func hitSlotOf(k *xdpbanBanKey) uint32 {
	return (foldKey(k) * 0x85EBCA77) >> (32 - hitSlotBits)
}

// ordersLoads reports whether this CPU keeps two loads in program order
// (x86's TSO): there the program reads the generation before the ban map
// without a fence.
func ordersLoads() bool { return runtime.GOARCH == "amd64" || runtime.GOARCH == "386" }

// hitGen is the generation mapped into this process.
type hitGen struct {
	m   *ebpf.Map
	mem []byte // nil on read-only handles
}

// openHitGen wraps the generation's map, mapping it when writable.
func openHitGen(m *ebpf.Map, writable bool) (*hitGen, error) {
	g := &hitGen{m: m}
	if !writable {
		return g, nil
	}
	mem, err := mapGlobal(m, "hit generation")
	if err != nil {
		return nil, err
	}
	g.mem = mem
	return g, nil
}

// bump invalidates every CPU's cached bans. Call it after a write to the
// ban map has returned: a program that read the old generation may have
// cached what it found before the write, and this makes that entry stale.
func (g *hitGen) bump() {
	if g == nil || g.mem == nil {
		return
	}
	atomic.AddUint64((*uint64)(unsafe.Pointer(&g.mem[0])), 1)
}

func (g *hitGen) close() error {
	if g == nil {
		return nil
	}
	var errs []error
	if g.mem != nil {
		errs = append(errs, unix.Munmap(g.mem))
		g.mem = nil
	}
	if g.m != nil {
		errs = append(errs, g.m.Close())
	}
	return errors.Join(errs...)
}

// openPinnedHits opens the hit cache and its generation; pins of an
// xdpban that predates them have none: their program caches nothing.
func (m *Maps) openPinnedHits(opts *ebpf.LoadPinOptions, writable bool) error {
	hits, genMap, err := loadPinnedPair(m.pinDir, xdpbanMapXdpbanHits, hitGenPin, opts)
	if hits == nil {
		return err
	}
	g, err := openHitGen(genMap, writable)
	if err != nil {
		hits.Close()
		genMap.Close()
		return err
	}
	m.hits, m.gen = hits, g
	return nil
}

// hitKey identifies the ban pending drops belong to.
type hitKey struct {
	key     xdpbanBanKey
	created uint64
}

// pendingDrops sums the drops every CPU's cache holds for bans, not yet
// added to their entries in the ban map.
func (m *Maps) pendingDrops() (map[hitKey][2]uint64, error) {
	if m.hits == nil {
		return nil, nil
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("read the hit cache: %w", err)
	}
	keys := make([]uint32, hitSlots)
	vals := make([]xdpbanHitEntry, hitSlots*cpus)
	var cursor ebpf.MapBatchCursor
	n, err := m.hits.BatchLookup(&cursor, keys, vals, nil)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, fmt.Errorf("read the hit cache: %w", err)
	}
	var out map[hitKey][2]uint64
	for _, e := range vals[:n*cpus] {
		if e.Packets == 0 {
			continue
		}
		if out == nil {
			out = map[hitKey][2]uint64{}
		}
		k := hitKey{e.Key, e.CreatedNs}
		c := out[k]
		out[k] = [2]uint64{c[0] + e.Packets, c[1] + e.Bytes}
	}
	return out, nil
}

// withPending adds to v the drops pending for its ban.
func withPending(pending map[hitKey][2]uint64, k *xdpbanBanKey, v *xdpbanBanValue) xdpbanBanValue {
	out := *v
	if c, ok := pending[hitKey{*k, v.CreatedNs}]; ok {
		out.Packets += c[0]
		out.Bytes += c[1]
	}
	return out
}

// foldKey XORs the key's four words as a little-endian host loads them,
// as the program's slot functions do.
func foldKey(k *xdpbanBanKey) uint32 {
	a := k.Addr[:]
	return binary.LittleEndian.Uint32(a[0:]) ^ binary.LittleEndian.Uint32(a[4:]) ^
		binary.LittleEndian.Uint32(a[8:]) ^ binary.LittleEndian.Uint32(a[12:])
}
