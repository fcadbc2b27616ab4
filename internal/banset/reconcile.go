package banset

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// reconciled is what reconcile decides at start.
type reconciled struct {
	keep []jail.Ban // what holds: for the jail
	// toKernel is the tail of keep that the kernel map lacks. It is the
	// tail, not a copy: after a reboot it is every ban, and copying a
	// million bans costs a restore more than reconciling them.
	toKernel []jail.Ban
	// unban are the kernel's entries that no longer hold: refused by
	// ignoreip, which the map must lose too.
	unban []netip.Prefix
	// forget are the stored bans that do not hold, save the kept bans the
	// store lacks or holds with another end: with them the store holds
	// exactly keep, without rewriting what it has right.
	forget []netip.Prefix
	save   []jail.Ban
	// dropped counts bans of either side that do not hold; refused says
	// why the ignore rule turned some of them down, one error each.
	dropped int
	refused []error
}

// restated notes a kept ban that the store holds under another prefix
// (one IPv6 address, from before bans were stored as the map enforces
// them): the store forgets that one and saves b.
func (r *reconciled) restated(storedAs netip.Prefix, b jail.Ban) {
	if storedAs != b.Prefix {
		r.forget = append(r.forget, storedAs)
		r.save = append(r.save, b)
	}
}

// fit makes what reconcile kept fit a map of capacity bans, by the rule
// of a full map: the bans the kernel lacks that end soonest go (never a
// permanent one while a timed one is left). It returns how many went.
// The store had more than the map holds: --max-bans was lowered, or the
// map filled up while bans were written around xdpban.
func (r *reconciled) fit(capacity int) int {
	over := len(r.keep) - capacity
	if over <= 0 {
		return 0
	}
	over = min(over, len(r.toKernel))
	slices.SortFunc(r.toKernel, func(a, b jail.Ban) int {
		switch {
		case a.Permanent() != b.Permanent():
			if a.Permanent() {
				return 1
			}
			return -1
		}
		return a.End.Compare(b.End)
	})
	gone := make(map[netip.Prefix]bool, over)
	for _, b := range r.toKernel[:over] {
		r.forget = append(r.forget, b.Prefix)
		gone[b.Prefix] = true
	}
	r.save = slices.DeleteFunc(r.save, func(b jail.Ban) bool { return gone[b.Prefix] })
	r.toKernel = r.toKernel[over:]
	r.keep = r.keep[:len(r.keep)-len(r.toKernel)-over]
	r.keep = append(r.keep, r.toKernel...)
	r.toKernel = r.keep[len(r.keep)-len(r.toKernel):]
	r.dropped += over
	return over
}

// reconcile merges the bans of the store and of the kernel map by the
// rule in the package documentation. fresh says the map was created
// empty by this start, i.e. the machine rebooted. Every ban is taken as
// the prefix the map enforces (jail.BanPrefix with ipv6Prefix). Bans
// ended by now are dropped, and so are bans that refuses (the jail's
// ignore rule) turns down, manual ones too. It may reuse store's array.
func reconcile(store, kernel []jail.Ban, fresh bool, now time.Time, ipv6Prefix int, refuses func(netip.Prefix) error) reconciled {
	var r reconciled
	holds := func(b jail.Ban) bool {
		if !b.Prefix.IsValid() || !b.ActiveAt(now) {
			return false
		}
		if err := refuses(b.Prefix); err != nil {
			r.refused = append(r.refused, fmt.Errorf("restore ban %v: %w", b.Prefix, err))
			return false
		}
		return true
	}
	norm := func(p netip.Prefix) netip.Prefix {
		if !p.IsValid() {
			return p
		}
		return jail.BanPrefix(p, ipv6Prefix)
	}
	if fresh && len(kernel) == 0 {
		// After a clean reboot keep is the store's bans that hold, in
		// order: filter them in place instead of copying a hundred
		// megabytes, and give them all to the kernel.
		r.keep = store[:0]
		for _, b := range store {
			stored := b.Prefix
			b.Prefix = norm(b.Prefix)
			if !holds(b) {
				r.forget = append(r.forget, stored)
				r.dropped++
				continue
			}
			r.restated(stored, b)
			r.keep = append(r.keep, b)
		}
		r.toKernel = r.keep
		return r
	}

	stored := make(map[netip.Prefix]jail.Ban, len(store))
	for _, b := range store {
		stored[norm(b.Prefix)] = b
	}
	r.keep = make([]jail.Ban, 0, len(kernel)+len(store))
	for _, k := range kernel {
		p := norm(k.Prefix)
		b, known := stored[p]
		delete(stored, p) // what is left in stored after this loop the kernel lacks
		if !known {
			// Made while the daemon was down: adopt it.
			b = jail.Ban{Prefix: p, Start: k.Start, Origin: jail.OriginRestored, Count: max(k.Count, 1)}
			if b.Start.IsZero() {
				b.Start = now
			}
		}
		// The kernel enforces its own end; that is the one that holds.
		storedAs, storedEnd := b.Prefix, b.End
		b.Prefix, b.End = p, k.End
		if !holds(b) {
			if k.ActiveAt(now) {
				r.unban = append(r.unban, p)
			}
			if known {
				r.forget = append(r.forget, storedAs)
			}
			r.dropped++
			continue
		}
		switch {
		case !known:
			r.save = append(r.save, b)
		case storedAs != p:
			r.restated(storedAs, b)
		case !storedEnd.Equal(b.End):
			r.save = append(r.save, b)
		}
		r.keep = append(r.keep, b)
	}
	fromKernel := len(r.keep)
	for p, b := range stored {
		// While the machine stays up, a ban the kernel lacks was lifted or
		// ended there; after a reboot, the store is the truth.
		storedAs := b.Prefix
		b.Prefix = p
		if !fresh || !holds(b) {
			r.forget = append(r.forget, storedAs)
			r.dropped++
			continue
		}
		r.restated(storedAs, b)
		r.keep = append(r.keep, b)
	}
	if len(r.keep) > fromKernel {
		r.toKernel = r.keep[fromKernel:]
	}
	return r
}
