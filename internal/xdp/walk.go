package xdp

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// walkChunk is how many entries one BPF_MAP_LOOKUP_BATCH call returns.
const walkChunk = 4096

// walk calls fn for every entry of the ban map. It reads in batches (one
// syscall per 4096 entries instead of two per entry: listing a million
// bans takes a fraction of a second instead of seconds), and falls back to
// the one-by-one iterator on kernels without batch support.
func (m *Maps) walk(fn func(*xdpbanBanKey, *xdpbanBanValue)) error {
	keys := make([]xdpbanBanKey, walkChunk)
	vals := make([]xdpbanBanValue, walkChunk)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.bans.BatchLookup(&cursor, keys, vals, nil)
		for i := 0; i < n; i++ {
			fn(&keys[i], &vals[i])
		}
		switch {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			return nil // that was the last chunk
		case errors.Is(err, ebpf.ErrNotSupported):
			return m.walkSlow(fn)
		case err != nil:
			return fmt.Errorf("read ban map: %w", err)
		}
	}
}

func (m *Maps) walkSlow(fn func(*xdpbanBanKey, *xdpbanBanValue)) error {
	var key xdpbanBanKey
	var val xdpbanBanValue
	it := m.bans.Iterate()
	for it.Next(&key, &val) {
		fn(&key, &val)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read ban map: %w", err)
	}
	return nil
}
