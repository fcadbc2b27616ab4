package xdp

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// filterSection is the data section that holds the counting filter in the
// object; the loader pins the map made from it as filterPinName.
const (
	filterSection = ".data.xdpban_filter"
	filterPinName = "xdpban_filter"
)

// filterPin is where the counting filter is pinned.
func filterPin(pinDir string) string { return filepath.Join(pinDir, filterPinName) }

// filterSpec is the filter's map as the loader creates it: mapped by
// userspace, pinned by hand (a data section carries no pinning flag).
func filterSpec(spec *ebpf.CollectionSpec) *ebpf.MapSpec { return mmapableSpec(spec, filterSection) }

// mmapableSpec is the map of a data section that userspace maps.
func mmapableSpec(spec *ebpf.CollectionSpec, section string) *ebpf.MapSpec {
	ms := spec.Maps[section].Copy()
	ms.Flags |= unix.BPF_F_MMAPABLE
	return ms
}

// The filter's size and ceiling, from bpf/xdpban.h.
const (
	filterBits      = int(xdpbanXdpbanConstXDPBAN_FILTER_BITS)
	filterSlots     = 1 << filterBits
	filterSaturated = uint32(xdpbanXdpbanConstXDPBAN_FILTER_SATURATED)
)

// countingFilter is the program's counting filter in front of the ban map
// (struct ban_filter in bpf/xdpban.h): one hash, one 8-bit counter per
// slot of how many keys of the map hash there. A source whose slot counts
// zero is not banned, and the program skips the hash-map lookup for it.
// It is mapped into this process so that its counters change with atomic
// operations that the program's compare-and-swap sees.
//
// The rule that keeps it safe: count a key in before inserting it and out
// after deleting it, so a counter is never below the number of keys that
// hash to its slot. Only banmap.go's insert and take apply it.
type countingFilter struct {
	mem []byte
}

// mapFilter maps the pinned counting filter read-write.
func mapFilter(m *ebpf.Map) (*countingFilter, error) {
	if int(m.ValueSize()) != filterSlots {
		return nil, fmt.Errorf("counting filter has %d slots, this xdpban uses %d: %w", m.ValueSize(), filterSlots, ErrIncompatible)
	}
	mem, err := unix.Mmap(m.FD(), 0, filterSlots, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, permissionHint("map the counting filter", err)
	}
	return &countingFilter{mem: mem}, nil
}

// filterSlotOf mirrors filter_slot() in bpf/xdpban.h: the key's words as a
// little-endian host loads them, folded, then a multiplicative hash.
func filterSlotOf(k *xdpbanBanKey) uint32 {
	a := k.Addr[:]
	w := binary.LittleEndian.Uint32(a[0:]) ^ binary.LittleEndian.Uint32(a[4:]) ^
		binary.LittleEndian.Uint32(a[8:]) ^ binary.LittleEndian.Uint32(a[12:])
	return (w * 0x9E3779B1) >> (32 - filterBits)
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
	w, shift := f.word(filterSlotOf(k))
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
	w, shift := f.word(filterSlotOf(k))
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
