package xdp

import (
	"encoding/binary"
	"net/netip"
)

// frame describes a test packet; build() writes it as on the wire. Only what
// the program reads is filled in: checksums stay zero.
type frame struct {
	vlans     []uint16 // outer first; 0x8100 or 0x88a8 TPIDs
	etherType uint16   // inner EtherType when no IP is given
	src, dst  netip.Addr
	ipOptions int    // IPv4 options length in bytes (multiple of 4)
	fragOff   uint16 // IPv4 fragment offset in 8-byte units, or IPv6 frag header offset
	v6Ext     []byte // IPv6 extension header types to chain before L4
	proto     uint8  // L4 protocol
	dport     uint16
	payload   int
}

func (f frame) build() []byte {
	b := make([]byte, 12) // dst + src MAC
	for _, tpid := range f.vlans {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, 100) // TCI: VLAN 100
	}
	switch {
	case f.src.Is4():
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		b = append(b, f.ipv4()...)
	case f.src.Is6():
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		b = append(b, f.ipv6()...)
	default:
		b = binary.BigEndian.AppendUint16(b, f.etherType)
		b = append(b, make([]byte, 46)...)
	}
	return b
}

func (f frame) l4() []byte {
	var h []byte
	switch f.proto {
	case 6: // TCP
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], 40000)
		binary.BigEndian.PutUint16(h[2:], f.dport)
		h[12] = 5 << 4
		h[13] = 0x02 // SYN
	case 17: // UDP
		h = make([]byte, 8)
		binary.BigEndian.PutUint16(h[0:], 40000)
		binary.BigEndian.PutUint16(h[2:], f.dport)
	default:
		h = make([]byte, 8)
	}
	return append(h, make([]byte, f.payload)...)
}

func (f frame) ipv4() []byte {
	h := make([]byte, 20+f.ipOptions)
	h[0] = 0x40 | byte((20+f.ipOptions)/4)
	h[8] = 64
	h[9] = f.proto
	binary.BigEndian.PutUint16(h[6:], f.fragOff&0x1fff)
	s, d := f.src.As4(), f.dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	var l4 []byte
	if f.fragOff == 0 {
		l4 = f.l4()
	} else {
		l4 = make([]byte, 8+f.payload) // a later fragment carries no L4 header
	}
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(l4)))
	return append(h, l4...)
}

func (f frame) ipv6() []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	h[7] = 64
	s, d := f.src.As16(), f.dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	var ext []byte
	laterFragment := false
	// Each header names the one after it: the IPv6 header the first
	// extension (or L4), each extension the next, the last one L4.
	chain := append(append([]byte{}, f.v6Ext...), f.proto)
	h[6] = chain[0]
	for i, t := range f.v6Ext {
		var e []byte
		switch t {
		case 44: // fragment: 8 bytes
			e = make([]byte, 8)
			binary.BigEndian.PutUint16(e[2:], f.fragOff<<3)
			laterFragment = f.fragOff != 0
		case 51: // AH: (len+2)*4 bytes; len 4 = 24 bytes
			e = make([]byte, 24)
			e[1] = 4
		default: // hop-by-hop, routing, dest opts: (len+1)*8 bytes; len 1 = 16
			e = make([]byte, 16)
			e[1] = 1
		}
		e[0] = chain[i+1]
		ext = append(ext, e...)
	}
	var l4 []byte
	if laterFragment {
		l4 = make([]byte, 8+f.payload)
	} else {
		l4 = f.l4()
	}
	binary.BigEndian.PutUint16(h[4:], uint16(len(ext)+len(l4)))
	return append(append(h, ext...), l4...)
}
