package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// BanMap writes the ban map. Every write keeps the counting filter's rule
// (countfilter.go) through two functions, insert and take, so no caller
// can forget it. internal/banset, the one owner of the set of bans, is
// its only user: everything else changes bans through banset, which keeps
// the jail, this map and the state store in step.
type BanMap struct{ m *Maps }

// BanMap returns the writer of the ban map. Handles opened read-only
// refuse every write.
func (m *Maps) BanMap() *BanMap { return &BanMap{m} }

// Maps returns the handle the writer belongs to, for reading.
func (b *BanMap) Maps() *Maps { return b.m }

// errReadOnly: the maps were opened to look only (OpenPinned readOnly).
var errReadOnly = errors.New("the pinned maps were opened read-only")

var errKeepsChanging = errors.New("its entry kept changing while we wrote it; run the ban again")

// Ban bans p until the given wall time (zero: permanent). Banning an
// address that is already banned sets the new end and keeps its counters.
// A full map fails with ErrFull.
func (b *BanMap) Ban(p netip.Prefix, until time.Time) error {
	if isRange(p, b.m.ipv6Prefix) {
		return b.m.banRangeUntil(p, until)
	}
	key, err := keyFor(p, b.m.ipv6Prefix)
	if err != nil {
		return err
	}
	now := nowPair()
	return b.banError(p, b.banKey(&key, now.toMono(until), uint64(now.mono)))
}

// banKey sets key's end to end, keeping its counters, or inserts it as
// created at created.
func (b *BanMap) banKey(key *xdpbanBanKey, end, created uint64) error {
	// Insert first: the jail's bans are new addresses, and an insert is one
	// syscall where looking first costs two. An entry can appear (another
	// writer) or vanish (the program removes it once expired) between our
	// calls; each turn takes one of the two paths, and a race sends it to
	// the other. Three turns need two races in a row that cannot both
	// happen to one key in microseconds.
	for range 3 {
		_, err := b.insert([]xdpbanBanKey{*key}, []xdpbanBanValue{{ExpiresNs: end, CreatedNs: created}}, ebpf.UpdateNoExist)
		if !errors.Is(err, ebpf.ErrKeyExist) {
			return err
		}
		var val xdpbanBanValue
		if err := b.m.bans.Lookup(key, &val); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue // removed meanwhile: insert it anew
			}
			return err
		}
		val.ExpiresNs = end
		err = b.m.bans.Update(key, &val, ebpf.UpdateExist)
		b.m.gen.bump() // the old end may be cached
		if !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return errKeepsChanging
}

func (b *BanMap) banError(p netip.Prefix, err error) error {
	switch {
	case err == nil:
		return nil
	case isFull(err):
		return fmt.Errorf("ban %s: %w (%d bans; raise --max-bans or unban some)", p, ErrFull, b.m.maxBans)
	}
	return permissionHint("ban "+p.String(), err)
}

// isFull recognises the kernel's answer to an insert into a full hash map.
func isFull(err error) bool {
	return errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.ENOMEM)
}

// IsRange reports whether p is a range ban (a prefix wider than one
// address, or than the IPv6 ban prefix), kept in the trie beside the map:
// ranges are never evicted to make room.
func (b *BanMap) IsRange(p netip.Prefix) bool { return isRange(p, b.m.ipv6Prefix) }

// Unban removes the ban on p.
func (b *BanMap) Unban(p netip.Prefix) error {
	if isRange(p, b.m.ipv6Prefix) {
		return b.m.unbanRange(p)
	}
	key, err := keyFor(p, b.m.ipv6Prefix)
	if err != nil {
		return err
	}
	if _, err := b.take(&key); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("unban %s: %w", p, ErrNotBanned)
		}
		return permissionHint("unban "+p.String(), err)
	}
	return nil
}

// insert writes keys with flags (one syscall for one key, a batch for
// more), counting them into the filter first so that the program never
// sees a key banned but filtered out; the keys the kernel did not write
// are counted out again. It returns how many it wrote. Afterwards it
// bumps the hit cache's generation: a batch may overwrite a cached ban.
//
// The kernel's batch update cannot refuse existing keys (BPF_NOEXIST is
// not a batch flag), so a batch over a key already in the map overwrites
// it and leaves its counter one high: harmless (that slot costs a
// lookup), and why batches are for keys not in the map yet.
func (b *BanMap) insert(keys []xdpbanBanKey, vals []xdpbanBanValue, flags ebpf.MapUpdateFlags) (int, error) {
	f := b.m.filter
	if f == nil {
		return 0, errReadOnly
	}
	for i := range keys {
		f.countIn(&keys[i])
	}
	var n int
	var err error
	if len(keys) == 1 {
		if err = b.m.bans.Update(&keys[0], &vals[0], flags); err == nil {
			n = 1
		}
	} else if len(keys) > 1 {
		n, err = b.m.bans.BatchUpdate(keys, vals, nil)
	}
	if n > 0 || (err != nil && len(keys) > 1) { // a failed batch may have written some
		b.m.gen.bump()
	}
	for i := n; i < len(keys); i++ {
		f.countOut(&keys[i])
	}
	return n, err
}

// take deletes key and returns its value, counting it out of the filter
// and bumping the hit cache's generation when this call removed it.
func (b *BanMap) take(key *xdpbanBanKey) (xdpbanBanValue, error) {
	var val xdpbanBanValue
	if b.m.filter == nil {
		return val, errReadOnly
	}
	if err := b.m.bans.LookupAndDelete(key, &val); err != nil {
		return val, err
	}
	b.m.gen.bump()
	b.m.filter.countOut(key)
	return val, nil
}

// SoonestEnding finds the timed ban that ends first (an expired one, if
// any) in one pass over the map: eviction from a full map is exactly
// when this runs, so listing and sorting every ban would be the most
// expensive way. found is false when every ban is permanent.
func (b *BanMap) SoonestEnding() (soonest Ban, found bool, err error) {
	var (
		key  xdpbanBanKey
		soon uint64
	)
	err = b.m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		if v.ExpiresNs != 0 && (!found || v.ExpiresNs < soon) {
			key, soon, found = *k, v.ExpiresNs, true
		}
	})
	if err != nil || !found {
		return Ban{}, false, err
	}
	now := nowPair()
	return Ban{Prefix: prefixOf(key, b.m.ipv6Prefix), Until: now.toWall(soon), Expired: soon <= uint64(now.mono)}, true, nil
}

// Audit returns the bans whose counting-filter slot reads zero: the
// program passes their traffic without looking them up. Sweep repairs
// them; tests use Audit to prove the rule holds.
func (b *BanMap) Audit() ([]netip.Prefix, error) {
	if b.m.filter == nil {
		return nil, errReadOnly
	}
	var out []netip.Prefix
	err := b.m.walk(func(k *xdpbanBanKey, _ *xdpbanBanValue) {
		if b.m.filter.count(k) == 0 {
			out = append(out, prefixOf(*k, b.m.ipv6Prefix))
		}
	})
	return out, err
}
