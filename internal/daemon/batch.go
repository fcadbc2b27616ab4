package daemon

import (
	"errors"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// restoreChunk is how many bans one background map write takes.
const restoreChunk = 65536

// restoreBatch collects the bans of a restore and writes them to the map
// in chunks from a second goroutine, so the kernel's inserts (a million
// of them take most of a second) overlap with the jail's own restore
// instead of following it. Bans the kernel already holds with the same end
// are left alone, so their drop counters survive a restart; those it holds
// with another end are updated one by one, which keeps their counters too
// (a batch would overwrite them).
type restoreBatch struct {
	maps     *xdp.Maps
	inKernel map[netip.Prefix]time.Time
	chunk    []xdp.BanSpec
	chunks   chan []xdp.BanSpec
	done     chan error
	errs     []error // of the one-by-one updates
}

func newRestoreBatch(maps *xdp.Maps, kernel []jail.Ban) *restoreBatch {
	b := &restoreBatch{
		maps:     maps,
		inKernel: make(map[netip.Prefix]time.Time, len(kernel)),
		chunks:   make(chan []xdp.BanSpec, 4),
		done:     make(chan error, 1),
	}
	for _, k := range kernel {
		b.inKernel[k.Prefix] = k.End
	}
	go func() {
		var errs []error
		for c := range b.chunks {
			if _, err := b.maps.BanMap().BanBatch(c); err != nil {
				errs = append(errs, err)
			}
		}
		b.done <- errors.Join(errs...)
	}()
	return b
}

func (b *restoreBatch) add(p netip.Prefix, until time.Time) {
	if end, ok := b.inKernel[p]; ok {
		if end.Sub(until).Abs() >= time.Millisecond {
			if err := b.maps.BanMap().Ban(p, until); err != nil {
				b.errs = append(b.errs, err)
			}
		}
		return
	}
	if b.chunk == nil {
		b.chunk = make([]xdp.BanSpec, 0, restoreChunk)
	}
	b.chunk = append(b.chunk, xdp.BanSpec{Prefix: p, Until: until})
	if len(b.chunk) == restoreChunk {
		b.chunks <- b.chunk
		b.chunk = nil
	}
}

// finish writes what is left and waits for every chunk.
func (b *restoreBatch) finish() error {
	if len(b.chunk) > 0 {
		b.chunks <- b.chunk
	}
	close(b.chunks)
	return errors.Join(append(b.errs, <-b.done)...)
}
