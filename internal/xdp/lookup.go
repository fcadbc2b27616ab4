package xdp

import (
	"errors"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Lookup returns the ban that the program would match for a packet from
// a: its own entry (its IPv6 address masked to the ban prefix), else the
// longest range ban holding it, for `xdpban banned` without a daemon. An
// expired entry is returned with Expired set: the program passes its
// traffic.
func (m *Maps) Lookup(a netip.Addr) (Ban, bool, error) {
	a = a.Unmap()
	key, err := keyFor(netip.PrefixFrom(a, a.BitLen()), m.ipv6Prefix)
	if err != nil {
		return Ban{}, false, err
	}
	now := nowPair()
	var v xdpbanBanValue
	err = m.bans.Lookup(&key, &v)
	switch {
	case err == nil:
		pending, err := m.pendingDrops()
		if err != nil {
			return Ban{}, false, err
		}
		v = withPending(pending, &key, &v)
		return m.lookedUp(prefixOf(key, m.ipv6Prefix), v.ExpiresNs, v.CreatedNs, v.Packets, v.Bytes, now), true, nil
	case !errors.Is(err, ebpf.ErrKeyNotExist):
		return Ban{}, false, permissionHint("look up "+a.String(), err)
	case m.ranges == nil:
		return Ban{}, false, nil
	}
	rk := xdpbanRangeKey{Prefixlen: 128, Addr: netip.AddrFrom16(a.As16()).As16()}
	var rv xdpbanRangeValue
	if err := m.ranges.trie.Lookup(&rk, &rv); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return Ban{}, false, nil
		}
		return Ban{}, false, permissionHint("look up "+a.String(), err)
	}
	p := netip.PrefixFrom(netip.AddrFrom16(a.As16()), int(rv.Prefixlen)).Masked()
	return m.lookedUp(unmapPrefix(p), rv.ExpiresNs, rv.CreatedNs, rv.Packets, rv.Bytes, now), true, nil
}

func (m *Maps) lookedUp(p netip.Prefix, expires, created, packets, bytes uint64, now clockPair) Ban {
	return Ban{
		Prefix:  p,
		Until:   now.toWall(expires),
		Created: now.toWall(created),
		Packets: packets,
		Bytes:   bytes,
		Expired: expires != 0 && expires <= uint64(now.mono),
	}
}

// Get returns the entry of exactly p, as Entries lists it (an address or
// IPv6 prefix from the ban map, a range from the trie), without reading
// the others: a command that bans one address must not walk a million.
func (m *Maps) Get(p netip.Prefix) (Ban, bool, error) {
	now := nowPair()
	if !isRange(p, m.ipv6Prefix) {
		key, err := keyFor(p, m.ipv6Prefix)
		if err != nil {
			return Ban{}, false, err
		}
		var v xdpbanBanValue
		switch err := m.bans.Lookup(&key, &v); {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			return Ban{}, false, nil
		case err != nil:
			return Ban{}, false, permissionHint("look up "+p.String(), err)
		}
		pending, err := m.pendingDrops()
		if err != nil {
			return Ban{}, false, err
		}
		v = withPending(pending, &key, &v)
		return m.banOf(&key, &v, now), true, nil
	}
	if m.ranges == nil {
		return Ban{}, false, nil
	}
	rk, err := rangeKeyFor(p, m.ipv6Prefix)
	if err != nil {
		return Ban{}, false, err
	}
	// The trie answers the longest range holding rk; it is p's own entry
	// only when it is as long as p.
	want := rk.Prefixlen
	var rv xdpbanRangeValue
	switch err := m.ranges.trie.Lookup(&rk, &rv); {
	case errors.Is(err, ebpf.ErrKeyNotExist):
		return Ban{}, false, nil
	case err != nil:
		return Ban{}, false, permissionHint("look up "+p.String(), err)
	case rv.Prefixlen != want:
		return Ban{}, false, nil
	}
	return m.lookedUp(prefixOfRange(rk), rv.ExpiresNs, rv.CreatedNs, rv.Packets, rv.Bytes, now), true, nil
}
