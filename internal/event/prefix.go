package event

import "net/netip"

// The source-prefix rule, written once for the listener, the jail and
// the daemon: an IPv4-mapped IPv6 address is the IPv4 address it maps,
// IPv4 sources count one address each, and IPv6 sources count per prefix
// of the configured length (--ipv6-prefix), since attackers rotate
// addresses inside their /64.

// SourcePrefix is the prefix the source a is counted and banned by.
func SourcePrefix(a netip.Addr, v6bits int) netip.Prefix {
	a = a.Unmap().WithZone("")
	if a.Is6() && v6bits < 128 {
		p, _ := a.Prefix(v6bits)
		return p
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// NormPrefix returns p masked, with an IPv4-mapped IPv6 prefix of /96 or
// longer as the IPv4 prefix it maps, so that equal bans compare equal.
// A shorter IPv4-mapped prefix also covers IPv6 addresses and stays IPv6.
func NormPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return netip.PrefixFrom(a, p.Bits()).Masked()
}
