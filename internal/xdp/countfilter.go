package xdp

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// filterPinName is the counting filter's pin.
const filterPinName = xdpbanMapXdpbanFilter

// filterPin is where the counting filter is pinned.
func filterPin(pinDir string) string { return filepath.Join(pinDir, filterPinName) }

// mmapableSpec is the map of a data section that userspace maps.
func mmapableSpec(spec *ebpf.CollectionSpec, section string) *ebpf.MapSpec {
	ms := spec.Maps[section].Copy()
	ms.Flags |= unix.BPF_F_MMAPABLE
	return ms
}

// The filter's ceiling, from bpf/xdpban.h, and the bounds of its size.
// Layouts up to 4 pinned 2^21 slots whatever the capacity; such a pin is
// kept as it is (see filterBitsOf).
const (
	filterSaturated = uint32(xdpbanXdpbanConstXDPBAN_FILTER_SATURATED)
	filterMinBits   = 16
	filterMaxBits   = 28
	// filterSlotsPerBan: with n keys in m slots a fraction 1-exp(-n/m) of
	// the slots is taken; at m >= 20n that is under 5 %, the share of
	// sources that are not banned but still take the hash-map lookup when
	// the map is full.
	filterSlotsPerBan = 20
)

// filterBitsFor is the log2 of the filter's slots for a ban map of
// capacity maxBans: the smallest power of two of at least
// filterSlotsPerBan slots per ban, so 20 to 40 bytes per ban of capacity
// (32 MiB at the default million), within filterMinBits..filterMaxBits
// (64 KiB to 256 MiB).
func filterBitsFor(maxBans uint32) int {
	b := filterMinBits
	for b < filterMaxBits && uint64(1)<<b < uint64(maxBans)*filterSlotsPerBan {
		b++
	}
	return b
}

// filterBitsOf is the log2 of the slots of a filter of size bytes, or an
// error when no xdpban makes a filter of that size.
func filterBitsOf(size uint32) (int, error) {
	for b := filterMinBits; b <= filterMaxBits; b++ {
		if size == 1<<b {
			return b, nil
		}
	}
	if size == 1<<21 { // layouts up to 4, whatever the capacity
		return 21, nil
	}
	return 0, fmt.Errorf("counting filter of %d bytes: %w", size, ErrIncompatible)
}

// countingFilter is the program's counting filter in front of the ban map
// (struct ban_filter in bpf/xdpban.h): one hash, one 8-bit counter per
// slot of how many keys of the map hash there. A source whose slot counts
// zero is not banned, and the program skips the hash-map lookup for it.
// It is mapped into this process so that its counters change with atomic
// operations that the program's compare-and-swap sees.
//
// The rule that keeps it safe: count a key in before inserting it and out
// after deleting it, so a counter is never below the number of keys that
// hash to its slot. Only BanMap applies it: insert and take, and the
// sweep, which counts in keys written to the map around xdpban.
type countingFilter struct {
	mem  []byte
	bits int // log2 of len(mem)
}

// mapFilter maps the pinned counting filter read-write.
func mapFilter(m *ebpf.Map) (*countingFilter, error) {
	if m.MaxEntries() != 1 {
		return nil, fmt.Errorf("counting filter has %d elements, this xdpban uses 1: %w", m.MaxEntries(), ErrIncompatible)
	}
	bits, err := filterBitsOf(m.ValueSize())
	if err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(m.FD(), 0, 1<<bits, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, permissionHint("map the counting filter", err)
	}
	return &countingFilter{mem: mem, bits: bits}, nil
}

// slotOf mirrors filter_slot() in bpf/xdpban.h: the key's words as a
// little-endian host loads them, folded, then a multiplicative hash.
func (f *countingFilter) slotOf(k *xdpbanBanKey) uint32 {
	return (foldKey(k) * 0x9E3779B1) >> (32 - f.bits)
}

// word returns the aligned 32-bit word holding slot's counter and the
// counter's bit offset in it (little-endian, as the program sees it).
func (f *countingFilter) word(slot uint32) (*uint32, uint32) {
	return (*uint32)(unsafe.Pointer(&f.mem[slot&^3])), (slot & 3) * 8
}

// countIn counts a key in. Call it before the key is inserted.
func (f *countingFilter) countIn(k *xdpbanBanKey) { f.step(k, +1) }

// countOut counts a key out. Call it after the key was deleted, and only
// when this process's delete removed it.
func (f *countingFilter) countOut(k *xdpbanBanKey) { f.step(k, -1) }

// step moves k's counter by delta (±1) with compare-and-swap on its word,
// which the program and other processes change too. A saturated counter
// stays set for good (safe, only slower); one at zero is not counted out.
func (f *countingFilter) step(k *xdpbanBanKey, delta int32) {
	w, shift := f.word(f.slotOf(k))
	for {
		old := atomic.LoadUint32(w)
		n := (old >> shift) & 0xFF
		if n == filterSaturated || (delta < 0 && n == 0) {
			return
		}
		if atomic.CompareAndSwapUint32(w, old, old+uint32(delta)<<shift) {
			return
		}
	}
}

// count reads the counter of k's slot.
func (f *countingFilter) count(k *xdpbanBanKey) uint8 {
	w, shift := f.word(f.slotOf(k))
	return uint8(atomic.LoadUint32(w) >> shift)
}

func (f *countingFilter) close() error {
	if f == nil || f.mem == nil {
		return nil
	}
	err := unix.Munmap(f.mem)
	f.mem = nil
	return err
}
