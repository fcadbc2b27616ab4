package daemon

import (
	"runtime"
	"sync"
	"time"
)

// cpus is the number of CPUs Go found for this process at start, before
// the daemon raised GOMAXPROCS above it.
var cpus = sync.OnceValue(func() int { return runtime.GOMAXPROCS(0) })

// partnerSaveEvery is how often the known partners go to the store: a
// crash loses at most this much of who connected, which costs those
// partners only their priority until their next handshake.
const partnerSaveEvery = time.Minute

// restorePartners gives the listener the known partners of earlier runs.
func (d *daemon) restorePartners() {
	if d.known == nil {
		return
	}
	seen, err := d.store.Partners()
	if err != nil {
		d.log.Error("restore known partners; they start as unknown", "err", err)
		return
	}
	d.known.Restore(seen)
}

func (d *daemon) savePartners() {
	if d.known == nil || d.store == nil {
		return
	}
	if err := d.store.SavePartners(d.known.Snapshot(time.Now())); err != nil {
		d.log.Error("save known partners", "err", err)
	}
}
