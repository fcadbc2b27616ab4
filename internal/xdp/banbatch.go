package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
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
// The kernel's inserts (most of the time: about a microsecond each) run
// on every CPU at once, each on its own chunks; the hash map locks per
// bucket, so they scale. It is for bans that are not in the map yet:
// their drop counters start at zero (use Ban for one that is). A full map
// fails with ErrFull; how many were written is returned either way.
func (b *BanMap) BanBatch(bans []BanSpec) (int, error) {
	now := nowPair()
	var (
		written atomic.Int64
		next    atomic.Int64 // the next chunk to take
		mu      sync.Mutex
		errs    []error
		wg      sync.WaitGroup
	)
	// Ranges are few: one at a time into the trie, before the map's keys.
	for _, s := range bans {
		if isRange(s.Prefix, b.m.ipv6Prefix) {
			if err := b.m.banRange(s.Prefix, now.toMono(s.Until), uint64(now.mono)); err != nil {
				return int(written.Load()), err
			}
			written.Add(1)
		}
	}
	chunks := (len(bans) + batchChunk - 1) / batchChunk
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Go(func() {
			keys := make([]xdpbanBanKey, 0, batchChunk)
			vals := make([]xdpbanBanValue, 0, batchChunk)
			for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
				keys, vals = keys[:0], vals[:0]
				var err error
				for _, s := range bans[c*batchChunk : min(len(bans), (c+1)*batchChunk)] {
					if isRange(s.Prefix, b.m.ipv6Prefix) {
						continue // in the trie already
					}
					var k xdpbanBanKey
					if k, err = keyFor(s.Prefix, b.m.ipv6Prefix); err != nil {
						break
					}
					keys = append(keys, k)
					vals = append(vals, xdpbanBanValue{ExpiresNs: now.toMono(s.Until), CreatedNs: uint64(now.mono)})
				}
				if err == nil {
					var n int
					n, err = b.insert(keys, vals, 0)
					written.Add(int64(n))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					next.Store(int64(chunks)) // stop the others too
				}
			}
		})
	}
	wg.Wait()
	n := int(written.Load())
	switch err := errors.Join(errs...); {
	case err == nil:
		return n, nil
	case isFull(err):
		return n, fmt.Errorf("ban batch: %w after %d bans (%d fit; raise --max-bans)", ErrFull, n, b.m.maxBans)
	default:
		return n, permissionHint("ban batch", err)
	}
}
