package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/xdpban/xdpban/internal/jail"
)

// banVersion is the first byte of every stored ban, so the layout can
// change without misreading old files.
const banVersion = 1

// banFixed is the size of a ban value before its origin: version, start,
// end (0 = permanent), count.
const banFixed = 1 + 8 + 8 + 4

func prefixKey(p netip.Prefix) ([]byte, error) {
	if !p.IsValid() {
		return nil, errors.New("invalid prefix")
	}
	return p.Masked().MarshalBinary()
}

func parseKey(k []byte) (netip.Prefix, error) {
	var p netip.Prefix
	if err := p.UnmarshalBinary(k); err != nil {
		return netip.Prefix{}, fmt.Errorf("decode prefix %x: %w", k, err)
	}
	return p, nil
}

func encodeBan(b jail.Ban) []byte {
	v := make([]byte, banFixed, banFixed+len(b.Origin))
	v[0] = banVersion
	binary.BigEndian.PutUint64(v[1:], uint64(jail.UnixNano(b.Start)))
	binary.BigEndian.PutUint64(v[9:], uint64(jail.UnixNano(b.End)))
	binary.BigEndian.PutUint32(v[17:], uint32(b.Count))
	return append(v, b.Origin...)
}

func decodeBan(k, v []byte) (jail.Ban, error) {
	p, err := parseKey(k)
	if err != nil {
		return jail.Ban{}, err
	}
	if len(v) < banFixed || v[0] != banVersion {
		return jail.Ban{}, fmt.Errorf("decode ban %v: bad value %x", p, v)
	}
	return jail.Ban{
		Prefix: p,
		Start:  jail.FromUnixNano(int64(binary.BigEndian.Uint64(v[1:]))),
		End:    jail.FromUnixNano(int64(binary.BigEndian.Uint64(v[9:]))),
		Count:  int(binary.BigEndian.Uint32(v[17:])),
		Origin: decodeOrigin(v[banFixed:]),
	}, nil
}

// decodeOrigin returns the known origins without allocating: a start
// decodes a million of them.
func decodeOrigin(v []byte) jail.Origin {
	for _, o := range []jail.Origin{jail.OriginJail, jail.OriginManual, jail.OriginRestored} {
		if string(v) == string(o) {
			return o
		}
	}
	return jail.Origin(v)
}

// History values are ascending ban start times, 8 bytes each.

func decodeTimes(v []byte) ([]int64, error) {
	if len(v)%8 != 0 {
		return nil, fmt.Errorf("decode history: %d bytes is not a multiple of 8", len(v))
	}
	ts := make([]int64, len(v)/8)
	for i := range ts {
		ts[i] = int64(binary.BigEndian.Uint64(v[i*8:]))
	}
	return ts, nil
}

func encodeTimes(ts []int64) []byte {
	v := make([]byte, 8*len(ts))
	for i, t := range ts {
		binary.BigEndian.PutUint64(v[i*8:], uint64(t))
	}
	return v
}
