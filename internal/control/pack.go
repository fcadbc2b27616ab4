package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdpban/xdpban/internal/jail"
)

// An import's bans travel packed (Request.Packed), one record per ban:
// family (1 byte: 4 or 6), address (16), prefix length (1), start and
// end in Unix nanoseconds (8 each; 0: none, for an end: permanent), ban
// count (4), origin length (1) and the origin. Writing and reading JSON
// objects cost more than putting the bans in force.
const packedFixed = 1 + 16 + 1 + 8 + 8 + 4 + 1

// PackBans encodes bans for Request.Packed.
func PackBans(bans []jail.Ban) ([]byte, error) {
	out := make([]byte, 0, len(bans)*(packedFixed+8))
	for _, b := range bans {
		if len(b.Origin) > 255 {
			return nil, fmt.Errorf("ban of %v: origin longer than 255 bytes", b.Prefix)
		}
		a := b.Prefix.Addr()
		fam := byte(6)
		if a.Is4() {
			fam = 4
		}
		a16 := a.As16()
		out = append(out, fam)
		out = append(out, a16[:]...)
		out = append(out, byte(b.Prefix.Bits()))
		out = binary.LittleEndian.AppendUint64(out, uint64(jail.UnixNano(b.Start)))
		out = binary.LittleEndian.AppendUint64(out, uint64(jail.UnixNano(b.End)))
		out = binary.LittleEndian.AppendUint32(out, uint32(min(max(b.Count, 0), 1<<31-1)))
		out = append(out, byte(len(b.Origin)))
		out = append(out, b.Origin...)
	}
	return out, nil
}

var errPacked = errors.New("read packed bans: truncated or malformed")

// UnpackBans decodes what PackBans encoded.
func UnpackBans(p []byte) ([]jail.Ban, error) {
	var out []jail.Ban
	for len(p) > 0 {
		if len(p) < packedFixed {
			return nil, errPacked
		}
		var a16 [16]byte
		copy(a16[:], p[1:17])
		a := netip.AddrFrom16(a16)
		switch p[0] {
		case 4:
			if !a.Is4In6() {
				return nil, errPacked
			}
			a = a.Unmap()
		case 6:
		default:
			return nil, errPacked
		}
		bits := int(p[17])
		if bits > a.BitLen() {
			return nil, errPacked
		}
		b := jail.Ban{
			Prefix: netip.PrefixFrom(a, bits),
			Start:  jail.FromUnixNano(int64(binary.LittleEndian.Uint64(p[18:]))),
			End:    jail.FromUnixNano(int64(binary.LittleEndian.Uint64(p[26:]))),
			Count:  int(binary.LittleEndian.Uint32(p[34:])),
		}
		n := int(p[38])
		p = p[packedFixed:]
		if len(p) < n {
			return nil, errPacked
		}
		b.Origin = jail.Origin(p[:n])
		p = p[n:]
		out = append(out, b)
	}
	return out, nil
}
