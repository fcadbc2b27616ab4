package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Range bans (bpf/xdpban.h) live in an LPM trie beside the ban map, with a
// count the program reads to skip the trie while it is empty. Everything
// that touches the trie or its count is in this file.

// rangeCountSection holds the range count in the object; the loader pins
// the map made from it as rangeCountPin.
const (
	rangeCountSection = ".data.xdpban_nranges"
	rangeCountPin     = "xdpban_nranges"
)

// maxRanges is the range trie's capacity, from bpf/xdpban.h.
const maxRanges = uint32(xdpbanXdpbanConstXDPBAN_MAX_RANGES)

// Shortest ranges accepted: a ban on a /7 or a /15 is almost surely a typo.
const (
	minRangeBits4 = 8
	minRangeBits6 = 16
)

// mappedV4 holds the IPv4-mapped addresses, which is how IPv4 sources are
// keyed: an IPv6 range over them would ban IPv4 traffic.
var mappedV4 = netip.MustParsePrefix("::ffff:0.0.0.0/96")

var errNoRanges = errors.New("the pinned maps predate range bans (start `xdpban run` of this version once to add them)")

// rangeMaps is the trie, its count mapped into this process, and a lock
// that orders this process's writes (the sweep's check-then-delete must
// not remove a range re-banned in between; LPM tries have no
// lookup-and-delete).
type rangeMaps struct {
	trie, count *ebpf.Map
	mem         []byte // the mapped count; nil on read-only handles
	mu          sync.Mutex
	// switchProg, set by the Datapath, puts the program build for on
	// (range support or not) into the links; nil without the daemon.
	switchProg func(on bool) error
}

// openRanges wraps the range maps, mapping the count when writable.
func openRanges(trie, count *ebpf.Map, writable bool) (*rangeMaps, error) {
	r := &rangeMaps{trie: trie, count: count}
	if !writable {
		return r, nil
	}
	mem, err := mapGlobal(count, "range count")
	if err != nil {
		return nil, err
	}
	r.mem = mem
	return r, nil
}

func (r *rangeMaps) counter() *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[0])) }

// acquire counts a range in; call it before inserting.
func (r *rangeMaps) acquire() { atomic.AddUint32(r.counter(), 1) }

// empty reports that the trie holds nothing (by the count).
func (r *rangeMaps) empty() bool { return atomic.LoadUint32(r.counter()) == 0 }

// switchOffIfEmpty returns the links to the build without range support
// once the trie is empty. A failure costs only speed: it is not reported.
func (r *rangeMaps) switchOffIfEmpty() {
	if r.switchProg != nil && r.empty() {
		r.switchProg(false)
	}
}

// release counts a range out after this process deleted it.
func (r *rangeMaps) release() {
	c := r.counter()
	for {
		old := atomic.LoadUint32(c)
		if old == 0 || atomic.CompareAndSwapUint32(c, old, old-1) {
			return
		}
	}
}

func (r *rangeMaps) close() error {
	if r == nil {
		return nil
	}
	var errs []error
	if r.mem != nil {
		errs = append(errs, unix.Munmap(r.mem))
		r.mem = nil
	}
	for _, m := range []*ebpf.Map{r.trie, r.count} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// unmapPrefix turns ::ffff:a.b.c.d/N (N >= 96) into a.b.c.d/(N-96).
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// isRange reports whether a ban on p belongs in the range trie: an IPv4
// prefix shorter than /32, an IPv6 prefix shorter than the ban prefix.
func isRange(p netip.Prefix, ipv6Prefix int) bool {
	p = unmapPrefix(p)
	if p.Addr().Is4() {
		return p.Bits() < 32
	}
	return p.Bits() < ipv6Prefix
}

// rangeKeyFor returns the trie key for a range ban on p.
func rangeKeyFor(p netip.Prefix, ipv6Prefix int) (xdpbanRangeKey, error) {
	var k xdpbanRangeKey
	p = unmapPrefix(p).Masked()
	switch {
	case p.Addr().Is4() && p.Bits() >= minRangeBits4:
		k.Prefixlen = uint32(96 + p.Bits())
	case p.Addr().Is4():
		return k, fmt.Errorf("range %s: IPv4 ranges are /%d to /32", p, minRangeBits4)
	case p.Overlaps(mappedV4):
		return k, fmt.Errorf("range %s: it holds the IPv4-mapped addresses ::ffff:0:0/96 and would ban IPv4 sources; ban IPv4 ranges in IPv4 form", p)
	case p.Bits() >= minRangeBits6 && p.Bits() < ipv6Prefix:
		k.Prefixlen = uint32(p.Bits())
	default:
		return k, fmt.Errorf("range %s: IPv6 ranges are /%d to /%d here (--ipv6-prefix)", p, minRangeBits6, ipv6Prefix)
	}
	k.Addr = p.Addr().As16()
	return k, nil
}

// prefixOfRange is the inverse of rangeKeyFor.
func prefixOfRange(k xdpbanRangeKey) netip.Prefix {
	a := netip.AddrFrom16(k.Addr)
	if a.Is4In6() && k.Prefixlen >= 96 {
		return netip.PrefixFrom(a.Unmap(), int(k.Prefixlen)-96)
	}
	return netip.PrefixFrom(a, int(k.Prefixlen))
}

// banRange bans the range p until end (mono ns; 0 permanent), keeping the
// counters of a range that is banned already.
func (m *Maps) banRange(p netip.Prefix, end, created uint64) error {
	key, err := rangeKeyFor(p, m.ipv6Prefix)
	if err != nil {
		return err
	}
	r := m.ranges
	if r == nil {
		return fmt.Errorf("ban %s: %w", p, errNoRanges)
	}
	if r.mem == nil {
		return errReadOnly
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A trie lookup finds the longest range holding the key: only a
	// match of the same length is this range's own entry.
	var val xdpbanRangeValue
	if err := r.trie.Lookup(&key, &val); err == nil && val.Prefixlen == key.Prefixlen {
		val.ExpiresNs = end
		return r.trie.Update(&key, &val, ebpf.UpdateExist)
	}
	// The links must run the build with range support before the range is
	// in the trie; without the daemon nobody can switch, so check instead.
	if r.switchProg != nil {
		err = r.switchProg(true)
	} else {
		err = m.checkRangesEnforced()
	}
	if err != nil {
		return fmt.Errorf("ban %s: %w", p, err)
	}
	r.acquire()
	err = r.trie.Update(&key, &xdpbanRangeValue{ExpiresNs: end, CreatedNs: created, Prefixlen: key.Prefixlen}, ebpf.UpdateNoExist)
	if err != nil {
		r.release()
		if isFull(err) {
			return fmt.Errorf("ban %s: %w (%d ranges; unban some)", p, ErrFull, maxRanges)
		}
	}
	return err
}

// unbanRange removes the range ban on exactly p.
func (m *Maps) unbanRange(p netip.Prefix) error {
	key, err := rangeKeyFor(p, m.ipv6Prefix)
	if err != nil {
		return err
	}
	r := m.ranges
	if r == nil {
		return fmt.Errorf("unban %s: %w", p, ErrNotBanned)
	}
	if r.mem == nil {
		return errReadOnly
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.trie.Delete(&key); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("unban %s: %w", p, ErrNotBanned)
		}
		return permissionHint("unban "+p.String(), err)
	}
	r.release()
	r.switchOffIfEmpty()
	return nil
}

// walkRanges calls fn for every range ban (the trie has no batch lookup).
func (m *Maps) walkRanges(fn func(*xdpbanRangeKey, *xdpbanRangeValue)) error {
	if m.ranges == nil {
		return nil
	}
	var (
		key xdpbanRangeKey
		val xdpbanRangeValue
	)
	it := m.ranges.trie.Iterate()
	for it.Next(&key, &val) {
		fn(&key, &val)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read range bans: %w", err)
	}
	return nil
}

// rangeEntries lists the range bans as Bans.
func (m *Maps) rangeEntries(now clockPair) ([]Ban, error) {
	var bans []Ban
	err := m.walkRanges(func(k *xdpbanRangeKey, v *xdpbanRangeValue) {
		bans = append(bans, Ban{
			Prefix:  prefixOfRange(*k),
			Until:   now.toWall(v.ExpiresNs),
			Created: now.toWall(v.CreatedNs),
			Packets: v.Packets,
			Bytes:   v.Bytes,
			Expired: v.ExpiresNs != 0 && v.ExpiresNs <= uint64(now.mono),
		})
	})
	return bans, err
}

// sweepRanges deletes ended ranges. Under the lock, a range this process
// re-banned after the walk is seen renewed and kept.
func (m *Maps) sweepRanges(now uint64) (int, error) {
	r := m.ranges
	if r == nil || r.mem == nil {
		return 0, nil
	}
	var ended []xdpbanRangeKey
	if err := m.walkRanges(func(k *xdpbanRangeKey, v *xdpbanRangeValue) {
		if v.ExpiresNs != 0 && v.ExpiresNs <= now {
			ended = append(ended, *k)
		}
	}); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	removed := 0
	for i := range ended {
		var val xdpbanRangeValue
		if err := r.trie.Lookup(&ended[i], &val); err != nil || val.Prefixlen != ended[i].Prefixlen || val.ExpiresNs == 0 || val.ExpiresNs > now {
			continue
		}
		if err := r.trie.Delete(&ended[i]); err == nil {
			r.release()
			removed++
		}
	}
	// The program deletes the ranges it finds ended too: look either way.
	r.switchOffIfEmpty()
	return removed, nil
}

// RangeCount is what the program reads to decide whether to look at the
// range trie (never below the number of ranges).
func (m *Maps) RangeCount() (uint32, error) {
	if m.ranges == nil {
		return 0, nil
	}
	var c xdpbanRangeCount
	if err := m.ranges.count.Lookup(uint32(0), &c); err != nil {
		return 0, fmt.Errorf("read range count: %w", err)
	}
	return c.Count, nil
}

// banRangeUntil bans the range p until a wall-clock end (zero: permanent).
func (m *Maps) banRangeUntil(p netip.Prefix, until time.Time) error {
	now := nowPair()
	return m.banRange(p, now.toMono(until), uint64(now.mono))
}
