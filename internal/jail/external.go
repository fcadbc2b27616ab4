package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// BanExternal puts in force bans decided elsewhere (CrowdSec decisions),
// each with its Origin, End and Start set by the caller:
//   - a prefix that overlaps ignoreip or ignoreself is skipped and returned
//     in ignored: ignoreip wins over every other source;
//   - a prefix without a ban gets one;
//   - a ban of the same origin takes the new end (the source sends its
//     current one: an extension extends, a shortening shortens), unless
//     the two are within a second, which is the same decision again;
//   - a ban of another origin (the jail's, an operator's) keeps its origin,
//     so a later deletion at the source does not lift it, and is lengthened
//     when the new end is later.
//
// No hooks run and no history is recorded: the bans were not decided
// here. It returns the bans it changed, for the store; an enforcer error
// skips that ban and is returned joined.
func (j *Jail) BanExternal(bans []Ban) (changed []Ban, ignored []netip.Prefix, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	var errs []error
	for _, b := range bans {
		if !b.Prefix.IsValid() || !b.ActiveAt(now) {
			continue
		}
		b.Prefix = normPrefix(b.Prefix)
		if j.ignore.CheckBan(b.Prefix, now) != nil {
			ignored = append(ignored, b.Prefix)
			continue
		}
		old, ok := j.bans.byPrefix[b.Prefix]
		switch {
		case !ok:
			if b.Count == 0 {
				b.Count = 1
			}
			j.stats.TotalBanned++
		case old.Origin == b.Origin:
			if sameEnd(old, b) {
				continue // the source sent it again (a snapshot after a reconnect)
			}
			b.Start, b.Count = old.Start, old.Count
		case old.Permanent() || (!b.Permanent() && !b.End.After(old.End)):
			continue // the other origin's ban holds at least as long
		default:
			old.End = b.End
			b = old
		}
		if err := j.enf.Ban(b.Prefix, b.End); err != nil {
			errs = append(errs, fmt.Errorf("ban %v: %w", b.Prefix, err))
			continue
		}
		j.bans.add(b)
		changed = append(changed, b)
	}
	return changed, ignored, errors.Join(errs...)
}

// UnbanExternal lifts the bans of ps whose origin is origin; a ban of the
// same prefix from another origin stays (the jail or an operator banned
// it too). Unban hooks run for what it lifted, which it returns.
func (j *Jail) UnbanExternal(ps []netip.Prefix, origin Origin) ([]Ban, error) {
	j.mu.Lock()
	var (
		out  []Ban
		errs []error
	)
	for _, p := range ps {
		p = normPrefix(p)
		b, ok := j.bans.byPrefix[p]
		if !ok || b.Origin != origin {
			continue
		}
		if err := j.enf.Unban(p); err != nil {
			errs = append(errs, fmt.Errorf("unban %v: %w", p, err))
			continue
		}
		j.bans.remove(p)
		out = append(out, b)
	}
	j.afterUnban(out...)
	return out, errors.Join(errs...)
}

// sameEnd reports ends within a second of each other: a decision's end is
// derived from the time left when it was sent.
func sameEnd(a, b Ban) bool {
	if a.Permanent() || b.Permanent() {
		return a.Permanent() == b.Permanent()
	}
	d := a.End.Sub(b.End)
	return d > -time.Second && d < time.Second
}

// PrefixesOf returns the prefixes of the bans in force with origin, in no
// order (a snapshot of a source's bans may hold a hundred thousand).
func (j *Jail) PrefixesOf(origin Origin) []netip.Prefix {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	var out []netip.Prefix
	for p, b := range j.bans.byPrefix {
		if b.Origin == origin && b.ActiveAt(now) {
			out = append(out, p)
		}
	}
	return out
}
