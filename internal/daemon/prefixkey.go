package daemon

import "net/netip"

// prefixKey is a flat map key for a prefix: netip.Prefix holds a pointer
// (the zone), which makes million-entry maps slower to fill and to scan.
type prefixKey struct {
	addr [16]byte
	bits int16
}

func keyOf(p netip.Prefix) prefixKey {
	return prefixKey{addr: p.Addr().As16(), bits: int16(p.Bits())}
}
