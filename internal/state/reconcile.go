package state

import (
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// Reconcile merges the bans of the store and of the kernel map at start,
// by the rule in the package documentation: keep is what holds (for
// jail.Restore and for the store), toKernel the kept bans the kernel map
// lacks and must be given. kernelFresh says the map was created empty
// by this start, i.e. the machine rebooted. Bans ended by now are dropped.
// toKernel is the tail of keep, not a copy: at a million bans a copy was
// a tenth of a restore.
func Reconcile(store, kernel []jail.Ban, kernelFresh bool, now time.Time) (keep, toKernel []jail.Ban) {
	// Sized up front and maps built only when needed: at a million bans
	// slice growth and map building are most of the start-up time.
	size := len(kernel)
	if kernelFresh {
		size += len(store)
	}
	keep = make([]jail.Ban, 0, size)
	var stored map[netip.Prefix]jail.Ban
	if len(kernel) > 0 {
		stored = make(map[netip.Prefix]jail.Ban, len(store))
		for _, b := range store {
			stored[b.Prefix.Masked()] = b
		}
	}
	// Only a fresh map sends the store's bans on to the kernel, and only
	// then is it asked which the kernel holds already.
	var inKernel map[netip.Prefix]bool
	if kernelFresh && len(kernel) > 0 {
		inKernel = make(map[netip.Prefix]bool, len(kernel))
	}
	for _, k := range kernel {
		p := k.Prefix.Masked()
		if inKernel != nil {
			inKernel[p] = true
		}
		if !k.ActiveAt(now) {
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
		// The kernel enforces its own end; that is the one that holds.
		b.Prefix, b.End = p, k.End
		keep = append(keep, b)
	}
	if !kernelFresh {
		return keep, nil
	}
	fromKernel := len(keep)
	for _, b := range store {
		if !b.ActiveAt(now) {
			continue
		}
		p := b.Prefix.Masked()
		// After a clean reboot the kernel holds nothing: skip a million
		// map lookups that cannot hit.
		if inKernel != nil && inKernel[p] {
			continue
		}
		b.Prefix = p
		keep = append(keep, b)
	}
	if len(keep) == fromKernel {
		return keep, nil
	}
	return keep, keep[fromKernel:]
}
