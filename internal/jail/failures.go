package jail

import (
	"net/netip"

	"github.com/xdpban/xdpban/internal/event"
)

// addrKey is an address masked to its counting prefix, in 16 bytes
// (IPv4 as ::ffff:a.b.c.d). IPv4-mapped IPv6 peers are unmapped first, so
// the two families cannot collide.
type addrKey [16]byte

// none marks the end of the LRU list and an unused link.
const none = -1

// record is one tracked address. It holds no pointers, so a million of
// them cost the garbage collector nothing to scan.
type record struct {
	key        addrKey
	prev, next int32 // LRU list, least recently failing first
	last       int64 // newest failure time, unix ns, for expiry
	n          uint16
	weight     uint16 // failures one failure counts as: retryWeight, at most MaxRetryLimit
}

// failureTimes keeps the recent failure times of up to max addresses: for each,
// the newest stride (= maxretry-1) times in ascending order in one flat
// slab, so memory per address is fixed and allocation-free once warm.
type failureTimes struct {
	index      map[addrKey]int32
	recs       []record
	times      []int64
	stride     int
	free       []int32
	head, tail int32
	max        int
}

func newFailureTimes(maxTracked, maxRetry int) *failureTimes {
	return &failureTimes{
		index:  make(map[addrKey]int32),
		stride: maxRetry - 1,
		head:   none,
		tail:   none,
		max:    maxTracked,
	}
}

func (t *failureTimes) len() int { return len(t.index) }

// slot returns the stored times of record i.
func (t *failureTimes) slot(i int32) []int64 {
	off := int(i) * t.stride
	return t.times[off : off+int(t.recs[i].n)]
}

// get returns the record index of k.
func (t *failureTimes) get(k addrKey) (int32, bool) {
	i, ok := t.index[k]
	return i, ok
}

// add creates an empty record for k, whose failures count weight times,
// at the recent end, dropping the least recently failing record first
// when full; dropped reports that.
func (t *failureTimes) add(k addrKey, weight int) (i int32, dropped bool) {
	if len(t.index) >= t.max && t.head != none {
		t.remove(t.head)
		dropped = true
	}
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		i = int32(len(t.recs))
		t.recs = append(t.recs, record{})
		t.times = append(t.times, make([]int64, t.stride)...)
	}
	t.recs[i] = record{key: k, prev: none, next: none, weight: uint16(weight)}
	t.index[k] = i
	t.pushBack(i)
	return i, dropped
}

// touch moves record i to the recent end of the LRU list.
func (t *failureTimes) touch(i int32) {
	if t.tail == i {
		return
	}
	t.unlink(i)
	t.pushBack(i)
}

// remove forgets record i.
func (t *failureTimes) remove(i int32) {
	t.unlink(i)
	delete(t.index, t.recs[i].key)
	t.recs[i] = record{prev: none, next: none}
	t.free = append(t.free, i)
}

// expire forgets up to limit records, least recently failing first, whose
// newest failure is older than cutoff; limit < 0 means no limit. It stops
// at the first record still in its window: events arrive roughly in time
// order, and anything it misses is bounded by max anyway.
func (t *failureTimes) expire(cutoff int64, limit int) {
	for t.head != none && limit != 0 && t.recs[t.head].last < cutoff {
		t.remove(t.head)
		limit--
	}
}

// insert stores w failures at time ts in record i, keeping the newest
// stride times in ascending order.
func (t *failureTimes) insert(i int32, ts int64, w int) {
	r := &t.recs[i]
	if ts > r.last {
		r.last = ts
	}
	off := int(i) * t.stride
	s := t.times[off : off+t.stride]
	for ; w > 0; w-- {
		n := int(r.n)
		if n == t.stride {
			if n == 0 || ts <= s[0] {
				return // older than everything kept: it cannot matter
			}
			copy(s, s[1:]) // drop the oldest
			n--
		}
		j := n
		for j > 0 && s[j-1] > ts {
			s[j] = s[j-1]
			j--
		}
		s[j] = ts
		r.n = uint16(n + 1)
	}
}

// wouldBan reports whether w more failures at ts give record i maxretry
// failures within findtime: the maxretry newest times, which always
// include ts because at most maxretry-1 are stored, span at most findtime.
func (t *failureTimes) wouldBan(i int32, ts int64, w int, findTime int64) bool {
	maxRetry := t.stride + 1
	if w >= maxRetry {
		return true
	}
	s := t.slot(i)
	if len(s)+w < maxRetry {
		return false
	}
	// Walk down from the newest, merging the stored times with the w new
	// ones, to find the newest and the maxretry-th newest.
	hi, lo := int64(0), int64(0)
	j := len(s) - 1
	for k := 0; k < maxRetry; k++ {
		var v int64
		if w > 0 && (j < 0 || ts >= s[j]) {
			v = ts
			w--
		} else {
			v = s[j]
			j--
		}
		if k == 0 {
			hi = v
		}
		lo = v
	}
	return hi-lo <= findTime
}

func (t *failureTimes) pushBack(i int32) {
	t.recs[i].prev, t.recs[i].next = t.tail, none
	if t.tail != none {
		t.recs[t.tail].next = i
	} else {
		t.head = i
	}
	t.tail = i
}

func (t *failureTimes) unlink(i int32) {
	r := &t.recs[i]
	if r.prev != none {
		t.recs[r.prev].next = r.next
	} else if t.head == i {
		t.head = r.next
	}
	if r.next != none {
		t.recs[r.next].prev = r.prev
	} else if t.tail == i {
		t.tail = r.prev
	}
	r.prev, r.next = none, none
}

// keyOf returns the counting key of a, which must be unmapped: IPv4 per
// address, IPv6 per bits-long prefix.
func keyOf(a netip.Addr, v6bits int) (addrKey, netip.Prefix) {
	p := event.SourcePrefix(a, v6bits)
	return addrKey(p.Addr().As16()), p
}
