package banset

import (
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// reconciled is what reconcile decides at start.
type reconciled struct {
	keep []jail.Ban // what holds: for the jail and the store
	// toKernel is the tail of keep that the kernel map lacks. It is the
	// tail, not a copy: at a million bans a copy was a tenth of a restore.
	toKernel []jail.Ban
	// unban are the kernel's entries that no longer hold: refused by
	// ignoreip, which the map must lose too.
	unban []netip.Prefix
	// dropped counts bans of either side that do not hold.
	dropped int
}

// reconcile merges the bans of the store and of the kernel map by the
// rule in the package documentation. fresh says the map was created
// empty by this start, i.e. the machine rebooted. Bans ended by now are
// dropped, and so are bans that refuses (the ignoreip rule) turns down,
// unless they were made by hand.
func reconcile(store, kernel []jail.Ban, fresh bool, now time.Time, refuses func(netip.Prefix) bool) reconciled {
	// Sized up front and maps built only when needed: at a million bans
	// slice growth and map building are most of the start-up time.
	size := len(kernel)
	if fresh {
		size += len(store)
	}
	r := reconciled{keep: make([]jail.Ban, 0, size)}
	var stored map[netip.Prefix]jail.Ban
	if len(kernel) > 0 {
		stored = make(map[netip.Prefix]jail.Ban, len(store))
		for _, b := range store {
			stored[b.Prefix.Masked()] = b
		}
	}
	// Only a fresh map gets the store's bans, and only then is it asked
	// which the kernel holds already.
	var inKernel map[netip.Prefix]bool
	if fresh && len(kernel) > 0 {
		inKernel = make(map[netip.Prefix]bool, len(kernel))
	}
	for _, k := range kernel {
		p := k.Prefix.Masked()
		if inKernel != nil {
			inKernel[p] = true
		}
		if !k.ActiveAt(now) {
			r.dropped++
			continue
		}
		b, ok := stored[p]
		if !ok {
			// Made while the daemon was down: adopt it.
			b = jail.Ban{Prefix: p, Start: k.Start, Origin: jail.OriginRestored, Count: max(k.Count, 1)}
			if b.Start.IsZero() {
				b.Start = now
			}
		}
		if b.Origin != jail.OriginManual && refuses(p) {
			r.unban = append(r.unban, p)
			r.dropped++
			continue
		}
		// The kernel enforces its own end; that is the one that holds.
		b.Prefix, b.End = p, k.End
		r.keep = append(r.keep, b)
	}
	if !fresh {
		return r
	}
	fromKernel := len(r.keep)
	for _, b := range store {
		p := b.Prefix.Masked()
		// After a clean reboot the kernel holds nothing: skip a million
		// map lookups that cannot hit.
		if inKernel != nil && inKernel[p] {
			continue
		}
		if !p.IsValid() || !b.ActiveAt(now) || (b.Origin != jail.OriginManual && refuses(p)) {
			r.dropped++
			continue
		}
		b.Prefix = p
		r.keep = append(r.keep, b)
	}
	if len(r.keep) > fromKernel {
		r.toKernel = r.keep[fromKernel:]
	}
	return r
}
