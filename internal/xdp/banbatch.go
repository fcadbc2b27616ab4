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
func (b *BanMap) BanBatch(bans []BanSpec) (int, error) {
	now := nowPair()
	keys := make([]xdpbanBanKey, 0, min(len(bans), batchChunk))
	vals := make([]xdpbanBanValue, 0, cap(keys))
	written := 0
	flush := func() error {
		n, err := b.insert(keys, vals, 0)
		written += n
		keys, vals = keys[:0], vals[:0]
		if err != nil {
			if isFull(err) {
				return fmt.Errorf("ban batch: %w after %d bans (%d fit; raise --max-bans)", ErrFull, written, b.m.maxBans)
			}
			return permissionHint("ban batch", err)
		}
		return nil
	}
	for _, s := range bans {
		if isRange(s.Prefix, b.m.ipv6Prefix) {
			// Ranges are few: one at a time, into the trie.
			if err := b.m.banRange(s.Prefix, now.toMono(s.Until), uint64(now.mono)); err != nil {
				return written, err
			}
			written++
			continue
		}
		k, err := keyFor(s.Prefix, b.m.ipv6Prefix)
		if err != nil {
			return written, err
		}
		keys = append(keys, k)
		vals = append(vals, xdpbanBanValue{ExpiresNs: now.toMono(s.Until), CreatedNs: uint64(now.mono)})
		if len(keys) == batchChunk {
			if err := flush(); err != nil {
				return written, err
			}
		}
	}
	return written, flush()
}
