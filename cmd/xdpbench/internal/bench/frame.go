package bench

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// synFrame builds an Ethernet/IPv4/TCP SYN with valid IP and TCP
// checksums, so the stack accepts it where a filter lets it through.
func synFrame(srcMAC, dstMAC net.HardwareAddr, src, dst netip.Addr, sport, dport uint16) []byte {
	b := make([]byte, 14+20+20)
	copy(b[0:6], dstMAC)
	copy(b[6:12], srcMAC)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], 40)
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = 6
	s, d := src.As4(), dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	tcp[12] = 5 << 4
	tcp[13] = 0x02 // SYN
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	pseudo := uint32(s[0])<<8 | uint32(s[1])
	pseudo += uint32(s[2])<<8 | uint32(s[3])
	pseudo += uint32(d[0])<<8 | uint32(d[1])
	pseudo += uint32(d[2])<<8 | uint32(d[3])
	pseudo += 6 + 20
	binary.BigEndian.PutUint16(tcp[16:], checksum(tcp, pseudo))
	return b
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

var (
	benchMAC1 = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	benchMAC2 = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// banAddr is the i-th banned address, from 198.18.128.0 upward through
// 198.19.255.255 and then on into the IPv4-mapped space the map accepts
// (only i < 2^17 stay inside 198.18.0.0/15; the rest never hit a wire).
func banAddr(i int) netip.Addr {
	v := uint32(198)<<24 | uint32(18)<<16 | 0x8000
	v += uint32(i)
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}
