package jail

import (
	"net/netip"
	"time"
)

// Covering returns the ban in force that covers a (its own, or its IPv6
// prefix's), for `xdpban banned`.
func (j *Jail) Covering(a netip.Addr) (Ban, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bans.covering(a.Unmap(), j.now())
}

// Failures returns how many failures of a's counting prefix are on record
// within findtime, for `xdpban history` (at most maxretry-1: the next
// one bans).
func (j *Jail) Failures(a netip.Addr) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	k, _ := keyOf(a.Unmap(), j.cfg.IPv6Prefix)
	i, ok := j.failures.get(k)
	if !ok {
		return 0
	}
	cut := j.now().Add(-j.cfg.FindTime).UnixNano()
	n := 0
	for _, t := range j.failures.slot(i) {
		if t >= cut {
			n++
		}
	}
	return n
}

// inForce counts the bans that hold at now: ended bans wait for Expire to
// remove them, and must not be counted next to a list that leaves them
// out.
func (j *Jail) inForce(now time.Time) int {
	return j.bans.len() - j.bans.ended(toNano(now))
}

// ended counts the timed bans whose end is at or before now, visiting
// only those and their children in the min-heap of ends: a status or a
// scrape with a million bans in force costs nothing more.
func (s *activeBans) ended(now int64) int {
	n := 0
	stack := []int{0}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h >= len(s.ends) || s.endOf(h) > now {
			continue
		}
		n++
		stack = append(stack, 2*h+1, 2*h+2)
	}
	return n
}

// Admitted returns the bans of bs that the ignore rule lets through, as
// the prefixes the map will hold, under one lock, so an import stores
// exactly what Restore takes; the others count as refused. Those of
// prefixes the jail holds a ban of are in held, the others in fresh: the
// map has no entry of a fresh one to keep the counters of, so they can go
// in by the batch.
func (j *Jail) Admitted(bs []Ban) (fresh, held []Ban) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	fresh = make([]Ban, 0, len(bs))
	for _, b := range bs {
		b.Prefix = BanPrefix(b.Prefix, j.cfg.IPv6Prefix)
		if j.checkBan(b.Prefix, now) != nil {
			continue
		}
		if _, ok := j.bans.get(b.Prefix); ok {
			held = append(held, b)
		} else {
			fresh = append(fresh, b)
		}
	}
	return fresh, held
}

// Ignores reports whether a failure of a would be ignored (ignoreip,
// ignoreself), so the daemon can log it as fail2ban logs "Ignore".
func (j *Jail) Ignores(a netip.Addr) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ignore.refresh(j.now())
	return j.ignore.containsAddr(a.Unmap())
}
