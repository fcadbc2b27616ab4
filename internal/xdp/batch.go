package xdp

import (
	"fmt"
	"net/netip"
	"time"
)

// batchChunk bounds one BPF_MAP_UPDATE_BATCH call, so the kernel's copy of
// keys and values stays a few MiB.
const batchChunk = 65536

// BanSpec is one ban for BanBatch.
type BanSpec struct {
	Prefix netip.Prefix
	Until  time.Time // zero: permanent
}

// BanBatch writes many bans with batched updates: restoring a million bans
// after a reboot takes one syscall per 64k bans instead of one per ban.
// It is for bans that are not in the map yet: their drop counters start at
// zero (use Ban for one that is). A full map fails with ErrFull, with the
// bans before the failing one written.
func (m *Maps) BanBatch(bans []BanSpec) (int, error) {
	now := nowPair()
	keys := make([]xdpbanBanKey, 0, min(len(bans), batchChunk))
	vals := make([]xdpbanBanValue, 0, cap(keys))
	written := 0
	flush := func() error {
		n, err := m.insertBatch(keys, vals)
		written += n
		keys, vals = keys[:0], vals[:0]
		if err != nil {
			if isFull(err) {
				return fmt.Errorf("ban batch: %w after %d bans (%d fit; raise --max-bans)", ErrFull, written, m.maxBans)
			}
			return permissionHint("ban batch", err)
		}
		return nil
	}
	for _, b := range bans {
		if isRange(b.Prefix, m.ipv6Prefix) {
			// Ranges are few: one at a time, into the trie.
			if err := m.banRange(b.Prefix, now.toMono(b.Until), uint64(now.mono)); err != nil {
				return written, err
			}
			written++
			continue
		}
		k, err := keyFor(b.Prefix, m.ipv6Prefix)
		if err != nil {
			return written, err
		}
		keys = append(keys, k)
		vals = append(vals, xdpbanBanValue{ExpiresNs: now.toMono(b.Until), CreatedNs: uint64(now.mono)})
		if len(keys) == batchChunk {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	return written, flush()
}

// insertBatch inserts keys with the filter rule of insert: all are counted
// in first, and those the kernel did not write are counted out again. The
// kernel's batch update cannot refuse existing keys (BPF_NOEXIST is not a
// batch flag), so a key that was in the map is overwritten and leaves its
// filter counter one high: harmless (that slot costs a lookup), and why
// BanBatch is for keys not in the map yet.
func (m *Maps) insertBatch(keys []xdpbanBanKey, vals []xdpbanBanValue) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	if m.filter == nil {
		return 0, errReadOnly
	}
	for i := range keys {
		m.filter.acquire(&keys[i])
	}
	n, err := m.bans.BatchUpdate(keys, vals, nil)
	if err != nil {
		for i := n; i < len(keys); i++ {
			m.filter.release(&keys[i])
		}
	}
	return n, err
}
