package bench

// csumReplace32 is checksum hc after a 32-bit field it covers changed
// from old to new, by RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), over the
// field's two 16-bit words. The botnet generator does this arithmetic in
// BPF, from the template's constants; this is its specification.
func csumReplace32(hc uint16, old, new uint32) uint16 {
	sum := uint32(^hc)
	sum += uint32(^uint16(old>>16)) + uint32(^uint16(old))
	sum += new>>16 + new&0xffff
	return ^csumFold(sum)
}

// csumFold folds a 32-bit one's complement sum to 16 bits.
func csumFold(sum uint32) uint16 {
	sum = sum&0xffff + sum>>16
	sum = sum&0xffff + sum>>16
	return uint16(sum)
}
