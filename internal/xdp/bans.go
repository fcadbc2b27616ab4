package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/cilium/ebpf"
)

// Ban is one entry of the ban map as userspace sees it.
type Ban struct {
	Prefix  netip.Prefix `json:"prefix"`
	Until   time.Time    `json:"until,omitzero"` // zero: permanent
	Created time.Time    `json:"created"`
	Packets uint64       `json:"packets"` // dropped because of this ban
	Bytes   uint64       `json:"bytes"`
	Expired bool         `json:"expired,omitempty"` // still in the map, no longer enforced
}

// Permanent reports a ban without an end.
func (b Ban) Permanent() bool { return b.Until.IsZero() }

// Remaining is the time left at now; zero for permanent or expired bans.
func (b Ban) Remaining(now time.Time) time.Duration {
	if b.Permanent() || !b.Until.After(now) {
		return 0
	}
	return b.Until.Sub(now)
}

// Ban bans p until the given wall time (zero: permanent). Banning an
// address that is already banned sets the new end and keeps its counters.
// A full map fails with ErrFull: a manual ban must not push anyone out.
func (m *Maps) Ban(p netip.Prefix, until time.Time) error {
	if isRange(p, m.ipv6Prefix) {
		return m.banRangeUntil(p, until)
	}
	key, err := keyFor(p, m.ipv6Prefix)
	if err != nil {
		return err
	}
	now := nowPair()
	return m.banError(p, m.banKey(&key, now.toMono(until), uint64(now.mono)))
}

// banKey sets key's end to end, keeping its counters, or inserts it as
// created at created.
func (m *Maps) banKey(key *xdpbanBanKey, end, created uint64) error {
	// Insert first: the jail's bans are new addresses, and an insert is one
	// syscall where looking first costs two. An entry can appear (another
	// writer) or vanish (the program removes it once expired) between our
	// calls; each turn takes one of the two paths, and a race sends it to
	// the other. Three turns need two races in a row that cannot both
	// happen to one key in microseconds.
	for range 3 {
		err := m.insert(key, &xdpbanBanValue{ExpiresNs: end, CreatedNs: created})
		if !errors.Is(err, ebpf.ErrKeyExist) {
			return err
		}
		var val xdpbanBanValue
		if err := m.bans.Lookup(key, &val); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue // removed meanwhile: insert it anew
			}
			return err
		}
		val.ExpiresNs = end
		if err := m.bans.Update(key, &val, ebpf.UpdateExist); !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return errKeepsChanging
}

// errReadOnly: the maps were opened to look only (OpenPinned readOnly).
var errReadOnly = errors.New("the pinned maps were opened read-only")

var errKeepsChanging = errors.New("its entry kept changing while we wrote it; run the ban again")

// insert adds a key that is not in the map, counting it into the filter
// first so that the program never sees it banned but filtered out.
func (m *Maps) insert(key *xdpbanBanKey, val *xdpbanBanValue) error {
	if m.filter == nil {
		return errReadOnly
	}
	m.filter.acquire(key)
	err := m.bans.Update(key, val, ebpf.UpdateNoExist)
	if err != nil {
		m.filter.release(key)
	}
	return err
}

// remove deletes a key and, when this call removed it, counts it out of
// the filter.
func (m *Maps) remove(key *xdpbanBanKey) error {
	if m.filter == nil {
		return errReadOnly
	}
	if err := m.bans.Delete(key); err != nil {
		return err
	}
	m.filter.release(key)
	return nil
}

func (m *Maps) banError(p netip.Prefix, err error) error {
	switch {
	case err == nil:
		return nil
	case isFull(err):
		return fmt.Errorf("ban %s: %w (%d bans; raise --max-bans or unban some)", p, ErrFull, m.maxBans)
	}
	return permissionHint("ban "+p.String(), err)
}

// BanEvicting bans like Ban, but when the map is full it first removes the
// ban that ends soonest (never a permanent one): the daemon's rule, so a
// flood of new attackers cannot stop new bans. It reports what it evicted.
func (m *Maps) BanEvicting(p netip.Prefix, until time.Time) (evicted *Ban, err error) {
	err = m.Ban(p, until)
	if !errors.Is(err, ErrFull) || isRange(p, m.ipv6Prefix) {
		return nil, err
	}
	victim, found, err := m.soonestEnding()
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("ban %s: %w and every ban in it is permanent", p, ErrFull)
	}
	if err := m.Unban(victim.Prefix); err != nil && !errors.Is(err, ErrNotBanned) {
		return nil, err
	}
	return &victim, m.Ban(p, until)
}

// soonestEnding finds the timed ban that ends first (an expired one, if
// any) in one pass over the map: the full map is exactly when this runs,
// so listing and sorting every ban would be the most expensive way.
func (m *Maps) soonestEnding() (Ban, bool, error) {
	var (
		key   xdpbanBanKey
		soon  uint64
		found bool
	)
	err := m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		if v.ExpiresNs != 0 && (!found || v.ExpiresNs < soon) {
			key, soon, found = *k, v.ExpiresNs, true
		}
	})
	if err != nil || !found {
		return Ban{}, false, err
	}
	now := nowPair()
	return Ban{Prefix: prefixOf(key, m.ipv6Prefix), Until: now.toWall(soon), Expired: soon <= uint64(now.mono)}, true, nil
}

// Unban removes the ban on p.
func (m *Maps) Unban(p netip.Prefix) error {
	if isRange(p, m.ipv6Prefix) {
		return m.unbanRange(p)
	}
	key, err := keyFor(p, m.ipv6Prefix)
	if err != nil {
		return err
	}
	if err := m.remove(&key); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("unban %s: %w", p, ErrNotBanned)
		}
		return permissionHint("unban "+p.String(), err)
	}
	return nil
}

// Entries returns every entry of the ban map, in the map's order.
func (m *Maps) Entries() ([]Ban, error) {
	now := nowPair()
	var bans []Ban
	err := m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		bans = append(bans, Ban{
			Prefix:  prefixOf(*k, m.ipv6Prefix),
			Until:   now.toWall(v.ExpiresNs),
			Created: now.toWall(v.CreatedNs),
			Packets: v.Packets,
			Bytes:   v.Bytes,
			Expired: v.ExpiresNs != 0 && v.ExpiresNs <= uint64(now.mono),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	ranges, err := m.rangeEntries(now)
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	return append(bans, ranges...), nil
}

// List returns every entry of the ban map, expired ones first, then by
// end, permanent bans last.
func (m *Maps) List() ([]Ban, error) {
	bans, err := m.Entries()
	slices.SortFunc(bans, compareBans)
	return bans, err
}

func compareBans(a, b Ban) int {
	switch {
	case a.Permanent() != b.Permanent():
		if a.Permanent() {
			return 1
		}
		return -1
	case !a.Until.Equal(b.Until):
		return a.Until.Compare(b.Until)
	}
	return a.Prefix.Addr().Compare(b.Prefix.Addr())
}

// Count is the number of entries in the ban map.
func (m *Maps) Count() (int, error) {
	n := 0
	if err := m.walk(func(*xdpbanBanKey, *xdpbanBanValue) { n++ }); err != nil {
		return n, err
	}
	err := m.walkRanges(func(*xdpbanRangeKey, *xdpbanRangeValue) { n++ })
	return n, err
}

// Sweep deletes expired entries, and counts into the ban filter any ban
// whose filter slot reads zero. The program already ignores expired
// entries; removing them gives their room back and keeps status tidy.
// A ban with an empty slot was written around xdpban (bpftool map update,
// say): the program would never look it up, so it was not in force until
// now. Counting it can only leave a counter high (a key a concurrent
// unban removed after the walk saw it), which is safe.
func (m *Maps) Sweep() (removed, recounted int, err error) {
	if m.filter == nil {
		return 0, 0, errReadOnly
	}
	now := uint64(monoNow())
	var expired []xdpbanBanKey
	err = m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		switch {
		case v.ExpiresNs != 0 && v.ExpiresNs <= now:
			expired = append(expired, *k)
		case m.filter.count(k) == 0:
			m.filter.acquire(k)
			recounted++
		}
	})
	if err != nil {
		return 0, recounted, fmt.Errorf("sweep bans: %w", err)
	}
	var errs []error
	if n, err := m.sweepRanges(now); err != nil {
		errs = append(errs, err)
	} else {
		removed += n
	}
	for i := range expired {
		ok, err := m.removeIfEnded(&expired[i], now)
		if ok {
			removed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, recounted, errors.Join(errs...)
}

// testHookBeforeRemove, when set by a test, runs between the sweep's walk
// and its removals: the moment another writer can re-ban a key.
var testHookBeforeRemove func(*xdpbanBanKey)

// removeIfEnded deletes key if its ban has still ended at now. The walk
// that found it ended may be a while ago (a million entries take half a
// second), and the jail may have banned the address again since: a plain
// delete would then remove a ban in force. So the entry is taken out
// atomically with its value (BPF_MAP_LOOKUP_AND_DELETE_ELEM) and put back
// when that value turns out not to have ended.
func (m *Maps) removeIfEnded(key *xdpbanBanKey, now uint64) (bool, error) {
	if testHookBeforeRemove != nil {
		testHookBeforeRemove(key)
	}
	var val xdpbanBanValue
	if err := m.bans.LookupAndDelete(key, &val); err != nil {
		return false, nil // the program removed it meanwhile: fine
	}
	if val.ExpiresNs != 0 && val.ExpiresNs <= now {
		m.filter.release(key)
		return true, nil
	}
	// Banned again: put it back as it was. Its filter count stayed in
	// place; if someone inserted the key meanwhile, theirs counts.
	err := m.bans.Update(key, &val, ebpf.UpdateNoExist)
	if err == nil {
		return false, nil
	}
	m.filter.release(key)
	if errors.Is(err, ebpf.ErrKeyExist) {
		return false, nil
	}
	return false, fmt.Errorf("sweep: put back the renewed ban %s: %w", prefixOf(*key, m.ipv6Prefix), err)
}
