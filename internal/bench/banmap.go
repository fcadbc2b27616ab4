package bench

import (
	"fmt"
	"net/netip"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// banKey mirrors struct ban_key in bpf/xdpban.h.
type banKey struct{ Addr [16]byte }

// banValue mirrors struct ban_value in bpf/xdpban.h.
type banValue struct{ ExpiresNs, Packets, Bytes, CreatedNs uint64 }

// openBans opens the pinned ban map of a datapath loaded into pinDir.
func openBans(pinDir string) (*ebpf.Map, error) {
	m, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, "xdpban_bans"), nil)
	if err != nil {
		return nil, fmt.Errorf("open ban map: %w", err)
	}
	return m, nil
}

// fillBans writes permanent bans for banAddr(from) .. banAddr(to-1) with
// BPF_MAP_UPDATE_BATCH, in chunks so the key and value slices stay small.
func fillBans(m *ebpf.Map, from, to int) error {
	const chunk = 65536
	keys := make([]banKey, 0, chunk)
	vals := make([]banValue, 0, chunk)
	for i := from; i < to; {
		keys, vals = keys[:0], vals[:0]
		for ; i < to && len(keys) < chunk; i++ {
			keys = append(keys, banKey{banAddr(i).As16()})
			vals = append(vals, banValue{CreatedNs: 1})
		}
		if _, err := m.BatchUpdate(keys, vals, nil); err != nil {
			return fmt.Errorf("batch update bans: %w", err)
		}
	}
	return nil
}

func keyOf(a netip.Addr) banKey { return banKey{a.As16()} }
