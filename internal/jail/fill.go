package jail

import "slices"

// fill adds bans to an empty set as add would one at a time, and reports
// true; it reports false, and leaves the set empty, when two of them
// share a prefix (add then decides which one stays). At a million bans
// add's lookup of each one's index slot is a cache miss, most of a
// restore's time in the jail; fill sorts the bans by home slot instead
// and lays the index out in that order, so each pass over memory runs
// from one end to the other. The layout is linear probing's: a ban sits
// at its home slot or after a run of taken slots that starts there.
func (s *activeBans) fill(bans []Ban) bool {
	if len(s.recs) != 0 {
		return false
	}
	if len(bans) == 0 {
		return true
	}
	s.reserve(len(bans))
	mask := len(s.index) - 1
	order := make([]uint64, len(bans)) // home slot << 32 | record
	for i, b := range bans {
		p := normPrefix(b.Prefix)
		s.recs = append(s.recs, banRec{addr: p.Addr().As16(), bits: uint8(p.Bits()), start: toNano(b.Start),
			end: toNano(b.End), heap: -1, count: uint16(min(b.Count, 1<<16-1)), origin: s.origin(b.Origin)})
		r := &s.recs[i]
		order[i] = uint64(int(s.hash(&r.addr, r.bits))&mask)<<32 | uint64(i)
		f, bits := family(p.Addr()), p.Bits()
		s.lenCount[f][bits]++
		if s.lenCount[f][bits] == 1 {
			s.lens[f] = append(s.lens[f], bits)
			slices.SortFunc(s.lens[f], func(x, y int) int { return y - x })
		}
	}
	sortByHome(order, mask)
	next := 0 // the first slot after the run laid out so far
	var wrapped []int
	for _, o := range order {
		home, i := int(o>>32), int(uint32(o))
		r := &s.recs[i]
		h := s.hash(&r.addr, r.bits)
		pos := max(home, next)
		if s.taken(home, pos, r, h) {
			s.empty()
			return false
		}
		if pos > mask { // the run reaches the end: it goes on at slot 0
			wrapped = append(wrapped, i)
			continue
		}
		s.index[pos] = slotOf(i, h)
		next = pos + 1
	}
	for _, i := range wrapped {
		slot, dup := s.find(&s.recs[i].addr, s.recs[i].bits)
		if dup >= 0 {
			s.empty()
			return false
		}
		s.index[slot] = slotOf(i, s.hash(&s.recs[i].addr, s.recs[i].bits))
	}
	for i := range s.recs {
		if s.recs[i].end != 0 {
			s.heapPush(i)
		}
	}
	return true
}

// taken reports whether the slots from home up to pos (the run r would
// join) hold r's prefix already.
func (s *activeBans) taken(home, pos int, r *banRec, h uint64) bool {
	tag := uint32(h >> 56)
	for j := home; j < min(pos, len(s.index)); j++ {
		if v := s.index[j]; v>>recBits == tag {
			if o := &s.recs[v&recMask-1]; o.bits == r.bits && o.addr == r.addr {
				return true
			}
		}
	}
	return false
}

// empty makes the set hold nothing, keeping its memory.
func (s *activeBans) empty() {
	s.recs, s.ends = s.recs[:0], s.ends[:0]
	clear(s.index)
	s.lenCount = [2][129]int{}
	s.lens = [2][]int{}
}

// sortByHome sorts order by its high 32 bits, the home slot (at most
// mask), with a stable radix sort: a few sequential passes where a
// comparison sort would take a million random steps.
func sortByHome(order []uint64, mask int) {
	const digit = 11
	tmp := make([]uint64, len(order))
	src, dst := order, tmp
	for shift := 0; mask>>shift > 0; shift += digit {
		var count [1<<digit + 1]int
		for _, o := range src {
			count[(o>>(32+shift))&(1<<digit-1)+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, o := range src {
			d := (o >> (32 + shift)) & (1<<digit - 1)
			dst[count[d]] = o
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &order[0] {
		copy(order, src)
	}
}
