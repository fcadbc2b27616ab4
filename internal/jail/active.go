package jail

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"
)

// activeBans holds the bans in force. A flood can leave a million of
// them, so each costs about 52 bytes: a record in one slice without
// pointers (the garbage collector never scans it), a 4-byte slot of an
// open-addressing index (linear probing, at most half full), and a
// 4-byte entry of a heap ordered by end, which lets Expire find what has
// ended without walking every ban. Finding the ban covering an address
// costs one lookup per prefix length in use (usually one).
type activeBans struct {
	recs     []banRec
	index    []uint32 // slotOf each record, 0 when empty; a power of two long
	seed     uint64   // random: sources an attacker picks cannot collide on purpose
	ends     []uint32 // heap of the record numbers of timed bans, soonest end first
	origins  []Origin // banRec.origin indexes it
	lenCount [2][129]int
	lens     [2][]int // lengths with a non-zero count, longest first
}

// banRec is one ban. Times are UnixNano; end 0 is permanent.
type banRec struct {
	addr   [16]byte // IPv4 as ::ffff:a.b.c.d
	start  int64
	end    int64
	heap   int32 // position in ends; -1 for a permanent ban
	count  uint16
	bits   uint8
	origin uint8
}

const minIndex = 64

// An index slot holds a record number + 1 in its low recBits and 8 more
// bits of the record's hash above them, so a probe past another key
// rarely has to read that key's record (a cache miss each, at a million
// bans most of a restore's time in the jail). That numbers 16 million
// bans: xdp.MaxMaxBans keeps the map below it, and the jail holds no more
// than the map.
const (
	recBits = 24
	recMask = 1<<recBits - 1
)

func slotOf(rec int, h uint64) uint32 { return uint32(h>>56)<<recBits | uint32(rec+1) }

func newActiveBans() activeBans {
	var seed [8]byte
	rand.Read(seed[:])
	return activeBans{index: make([]uint32, minIndex), seed: binary.LittleEndian.Uint64(seed[:])}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

func toNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (s *activeBans) hash(addr *[16]byte, bits uint8) uint64 {
	h := (binary.LittleEndian.Uint64(addr[:8]) ^ s.seed) * 0x9E3779B97F4A7C15
	h ^= (binary.LittleEndian.Uint64(addr[8:]) + uint64(bits)) * 0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>32
}

// find returns the index slot of addr/bits and its record number, or the
// empty slot where it would go and -1.
func (s *activeBans) find(addr *[16]byte, bits uint8) (int, int) {
	mask := len(s.index) - 1
	h := s.hash(addr, bits)
	tag := uint32(h >> 56)
	i := int(h) & mask
	for {
		v := s.index[i]
		if v == 0 {
			return i, -1
		}
		if v>>recBits == tag {
			if r := &s.recs[v&recMask-1]; r.bits == bits && r.addr == *addr {
				return i, int(v&recMask - 1)
			}
		}
		i = (i + 1) & mask
	}
}

func (s *activeBans) lookup(p netip.Prefix) (slot, rec int) {
	addr := p.Addr().As16()
	return s.find(&addr, uint8(p.Bits()))
}

// get returns the ban of p.
func (s *activeBans) get(p netip.Prefix) (Ban, bool) {
	_, r := s.lookup(p)
	if r < 0 {
		return Ban{}, false
	}
	return s.ban(r), true
}

func (s *activeBans) ban(i int) Ban {
	r := &s.recs[i]
	a := netip.AddrFrom16(r.addr)
	if a.Is4In6() {
		a = a.Unmap()
	}
	return Ban{Prefix: netip.PrefixFrom(a, int(r.bits)), Start: fromNano(r.start), End: fromNano(r.end),
		Origin: s.origins[r.origin], Count: int(r.count)}
}

func (s *activeBans) origin(o Origin) uint8 {
	if i := slices.Index(s.origins, o); i >= 0 {
		return uint8(i)
	}
	if len(s.origins) == 255 {
		return 255 // more origins than there are: keep the last one
	}
	s.origins = append(s.origins, o)
	return uint8(len(s.origins) - 1)
}

// add stores b, replacing any ban of the same prefix, and reports
// whether it replaced one.
func (s *activeBans) add(b Ban) (replaced bool) {
	slot, i := s.lookup(b.Prefix)
	end := toNano(b.End)
	if i >= 0 {
		r := &s.recs[i]
		r.start, r.count, r.origin = toNano(b.Start), uint16(min(b.Count, 1<<16-1)), s.origin(b.Origin)
		switch wasTimed := r.end != 0; {
		case wasTimed && end == 0:
			s.heapRemove(int(r.heap))
			r.end = 0
		case !wasTimed && end != 0:
			r.end = end
			s.heapPush(i)
		default:
			r.end = end
			if end != 0 {
				s.heapFix(int(r.heap))
			}
		}
		return true
	}
	if 2*(len(s.recs)+1) > len(s.index) {
		s.grow(2 * len(s.index))
		slot, _ = s.lookup(b.Prefix)
	}
	i = len(s.recs)
	s.recs = append(s.recs, banRec{addr: b.Prefix.Addr().As16(), bits: uint8(b.Prefix.Bits()), start: toNano(b.Start),
		end: end, heap: -1, count: uint16(min(b.Count, 1<<16-1)), origin: s.origin(b.Origin)})
	s.index[slot] = slotOf(i, s.hash(&s.recs[i].addr, s.recs[i].bits))
	if end != 0 {
		s.heapPush(i)
	}
	f, bits := family(b.Prefix.Addr()), b.Prefix.Bits()
	s.lenCount[f][bits]++
	if s.lenCount[f][bits] == 1 {
		s.lens[f] = append(s.lens[f], bits)
		slices.SortFunc(s.lens[f], func(x, y int) int { return y - x })
	}
	return false
}

// grow rebuilds the index with n slots.
func (s *activeBans) grow(n int) {
	s.index = make([]uint32, n)
	for i := range s.recs {
		slot, _ := s.find(&s.recs[i].addr, s.recs[i].bits)
		s.index[slot] = slotOf(i, s.hash(&s.recs[i].addr, s.recs[i].bits))
	}
}

// remove deletes the ban of p and returns it.
func (s *activeBans) remove(p netip.Prefix) (Ban, bool) {
	slot, i := s.lookup(p)
	if i < 0 {
		return Ban{}, false
	}
	b := s.ban(i)
	s.unindex(slot)
	if h := s.recs[i].heap; h >= 0 {
		s.heapRemove(int(h))
	}
	// Move the last record into the hole, so the records stay dense.
	if last := len(s.recs) - 1; i != last {
		lslot, _ := s.find(&s.recs[last].addr, s.recs[last].bits)
		s.recs[i] = s.recs[last]
		s.index[lslot] = s.index[lslot]&^recMask | uint32(i+1)
		if h := s.recs[i].heap; h >= 0 {
			s.ends[h] = uint32(i)
		}
	}
	s.recs = s.recs[:len(s.recs)-1]
	f, bits := family(p.Addr()), p.Bits()
	s.lenCount[f][bits]--
	if s.lenCount[f][bits] == 0 {
		s.lens[f] = slices.DeleteFunc(s.lens[f], func(x int) bool { return x == bits })
	}
	return b, true
}

// unindex empties slot i, shifting later entries of its probe run back
// so that lookups still find them (deletion without tombstones).
func (s *activeBans) unindex(i int) {
	mask := len(s.index) - 1
	for j := (i + 1) & mask; s.index[j] != 0; j = (j + 1) & mask {
		r := &s.recs[s.index[j]&recMask-1]
		home := int(s.hash(&r.addr, r.bits)) & mask
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			s.index[i] = s.index[j]
			i = j
		}
	}
	s.index[i] = 0
}

// covering returns the ban in force at now that covers a, if any, longest
// prefix first.
func (s *activeBans) covering(a netip.Addr, now time.Time) (Ban, bool) {
	for _, bits := range s.lens[family(a)] {
		p, _ := a.Prefix(bits)
		if _, i := s.lookup(p); i >= 0 {
			if end := s.recs[i].end; end == 0 || end > now.UnixNano() {
				return s.ban(i), true
			}
		}
	}
	return Ban{}, false
}

// each calls fn for every ban.
func (s *activeBans) each(fn func(Ban)) {
	for i := range s.recs {
		fn(s.ban(i))
	}
}

// reserve makes room for n more bans when there are none yet, so a bulk
// restore neither regrows the slices nor rebuilds the index over and
// over, and keeps no spare room.
func (s *activeBans) reserve(n int) {
	if len(s.recs) != 0 {
		return
	}
	size := minIndex
	for size < 2*n {
		size *= 2
	}
	s.recs = make([]banRec, 0, n)
	s.ends = make([]uint32, 0, n)
	s.index = make([]uint32, size)
}

func (s *activeBans) len() int { return len(s.recs) }

// popEnded removes and returns the bans that are no longer in force at now.
func (s *activeBans) popEnded(now time.Time) []Ban {
	var out []Ban
	for len(s.ends) > 0 && s.recs[s.ends[0]].end <= now.UnixNano() {
		b, _ := s.remove(s.ban(int(s.ends[0])).Prefix)
		out = append(out, b)
	}
	return out
}

// The heap of ends, written out rather than container/heap, whose
// interface boxes every entry: a million-ban restore spent half a second
// on that.

func (s *activeBans) endOf(h int) int64 { return s.recs[s.ends[h]].end }

func (s *activeBans) swap(a, b int) {
	s.ends[a], s.ends[b] = s.ends[b], s.ends[a]
	s.recs[s.ends[a]].heap = int32(a)
	s.recs[s.ends[b]].heap = int32(b)
}

func (s *activeBans) heapPush(i int) {
	s.ends = append(s.ends, uint32(i))
	h := len(s.ends) - 1
	s.recs[i].heap = int32(h)
	s.up(h)
}

func (s *activeBans) heapRemove(h int) {
	last := len(s.ends) - 1
	s.recs[s.ends[h]].heap = -1
	if h != last {
		s.ends[h] = s.ends[last]
		s.recs[s.ends[h]].heap = int32(h)
	}
	s.ends = s.ends[:last]
	if h < last {
		s.heapFix(h)
	}
}

func (s *activeBans) heapFix(h int) {
	if !s.down(h) {
		s.up(h)
	}
}

func (s *activeBans) up(h int) {
	for h > 0 {
		parent := (h - 1) / 2
		if s.endOf(parent) <= s.endOf(h) {
			return
		}
		s.swap(parent, h)
		h = parent
	}
}

// down sifts h down and reports whether it moved.
func (s *activeBans) down(h int) bool {
	start := h
	for {
		l := 2*h + 1
		if l >= len(s.ends) {
			break
		}
		c := l
		if r := l + 1; r < len(s.ends) && s.endOf(r) < s.endOf(l) {
			c = r
		}
		if s.endOf(h) <= s.endOf(c) {
			break
		}
		s.swap(h, c)
		h = c
	}
	return h > start
}
