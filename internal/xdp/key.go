package xdp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// keyFor returns the map key for a ban on p. IPv4 bans are single addresses
// stored IPv4-mapped; IPv6 bans cover exactly the configured ban prefix,
// because the program masks every source to that length before the lookup.
func keyFor(p netip.Prefix, ipv6Prefix int) (xdpbanBanKey, error) {
	var k xdpbanBanKey
	if !p.IsValid() {
		return k, fmt.Errorf("invalid address or prefix %q", p)
	}
	addr := p.Addr().Unmap()
	switch {
	case addr.Is4():
		if p.Bits() != 32 && p.Bits() != 128 {
			return k, fmt.Errorf("prefix %s: not a single IPv4 address (ranges go into the range trie)", p)
		}
		// As16 of an IPv4 address is the IPv4-mapped form ::ffff:a.b.c.d.
		k.Addr = addr.As16()
		return k, nil
	case p.Bits() == 128 || p.Bits() == ipv6Prefix:
		masked := netip.PrefixFrom(addr, ipv6Prefix).Masked()
		k.Addr = masked.Addr().As16()
		return k, nil
	default:
		return k, fmt.Errorf("prefix %s: IPv6 bans cover /%d here (set --ipv6-prefix to ban other lengths)", p, ipv6Prefix)
	}
}

// prefixOf is the inverse of keyFor.
func prefixOf(k xdpbanBanKey, ipv6Prefix int) netip.Prefix {
	addr := netip.AddrFrom16(k.Addr)
	if addr.Is4In6() {
		return netip.PrefixFrom(addr.Unmap(), 32)
	}
	return netip.PrefixFrom(addr, ipv6Prefix)
}

// ipv6Mask returns the mask the program applies to IPv6 sources, as the
// four 32-bit words it loads from the packet (network byte order in memory).
func ipv6Mask(bits int) [4]uint32 {
	var b [16]byte
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[i*4:])
	}
	return w
}

// ParseTarget parses what a user gives to `xdpban ban`/`unban`: an address
// (IPv4, IPv6, IPv4-mapped) or a prefix in CIDR form.
func ParseTarget(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %q: zones are not allowed", s)
		}
		return unmapPrefix(p).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix (examples: 198.51.100.7, 2001:db8::/64)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
