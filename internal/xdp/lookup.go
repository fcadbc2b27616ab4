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
