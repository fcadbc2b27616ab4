package xdp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Sweep deletes expired entries, and counts into the filter any ban whose
// filter slot reads zero. The program already ignores expired entries;
// removing them gives their room back and keeps status tidy. A ban with
// an empty slot was written around xdpban (bpftool map update, say): the
// program would never look it up, so it was not in force until now.
// Counting it can only leave a counter high (a key a concurrent unban
// removed after the walk saw it), which is safe.
func (b *BanMap) Sweep() (removed, recounted int, err error) {
	f := b.m.filter
	if f == nil {
		return 0, 0, errReadOnly
	}
	now := uint64(monoNow())
	var expired []xdpbanBanKey
	err = b.m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		switch {
		case v.ExpiresNs != 0 && v.ExpiresNs <= now:
			expired = append(expired, *k)
		case f.count(k) == 0:
			f.countIn(k)
			recounted++
		}
	})
	if err != nil {
		return 0, recounted, fmt.Errorf("sweep bans: %w", err)
	}
	var errs []error
	if n, err := b.m.sweepRanges(now); err != nil {
		errs = append(errs, err)
	} else {
		removed += n
	}
	for i := range expired {
		ok, err := b.takeIfEnded(&expired[i], now)
		if ok {
			removed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, recounted, errors.Join(errs...)
}

// TakeIfEnded removes the ban on p if it has ended by now in the kernel's
// clock, and reports whether it did. A ban renewed since its end was seen
// stays.
func (b *BanMap) TakeIfEnded(p netip.Prefix) (bool, error) {
	key, err := keyFor(p, b.m.ipv6Prefix)
	if err != nil {
		return false, err
	}
	return b.takeIfEnded(&key, uint64(monoNow()))
}

// testHookBeforeRemove, when set by a test, runs between the sweep's walk
// and its removals: the moment another writer can re-ban a key.
var testHookBeforeRemove func(*xdpbanBanKey)

// takeIfEnded deletes key if its ban has still ended at now. Whoever saw
// it ended may have looked a while ago (a sweep's walk of a million
// entries takes half a second), and the jail may have banned the address
// again since: a plain delete would then remove a ban in force. So the
// entry is taken out atomically with its value
// (BPF_MAP_LOOKUP_AND_DELETE_ELEM) and put back when that value turns out
// not to have ended.
func (b *BanMap) takeIfEnded(key *xdpbanBanKey, now uint64) (bool, error) {
	if testHookBeforeRemove != nil {
		testHookBeforeRemove(key)
	}
	val, err := b.take(key)
	if err != nil {
		return false, nil // the program removed it meanwhile: fine
	}
	if val.ExpiresNs != 0 && val.ExpiresNs <= now {
		return true, nil
	}
	// Banned again: put it back as it was; if someone inserted the key
	// meanwhile, theirs stays.
	_, err = b.insert([]xdpbanBanKey{*key}, []xdpbanBanValue{val}, ebpf.UpdateNoExist)
	if err == nil || errors.Is(err, ebpf.ErrKeyExist) {
		return false, nil
	}
	return false, fmt.Errorf("sweep: put back the renewed ban %s: %w", prefixOf(*key, b.m.ipv6Prefix), err)
}
