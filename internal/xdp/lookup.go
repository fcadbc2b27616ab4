package xdp

import (
	"errors"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Lookup returns the map's entry that the program would match for a
// packet from a (its IPv6 address masked to the ban prefix), for
// `xdpban banned` without a daemon. An expired entry is returned with
// Expired set: the program passes its traffic.
func (m *Maps) Lookup(a netip.Addr) (Ban, bool, error) {
	a = a.Unmap()
	key, err := keyFor(netip.PrefixFrom(a, a.BitLen()), m.ipv6Prefix)
	if err != nil {
		return Ban{}, false, err
	}
	var v xdpbanBanValue
	if err := m.bans.Lookup(&key, &v); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return Ban{}, false, nil
		}
		return Ban{}, false, permissionHint("look up "+a.String(), err)
	}
	now := nowPair()
	return Ban{
		Prefix:  prefixOf(key, m.ipv6Prefix),
		Until:   now.toWall(v.ExpiresNs),
		Created: now.toWall(v.CreatedNs),
		Packets: v.Packets,
		Bytes:   v.Bytes,
		Expired: v.ExpiresNs != 0 && v.ExpiresNs <= uint64(now.mono),
	}, true, nil
}
