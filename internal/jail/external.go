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
// No hooks run and no ban is counted in the history, which only keeps
// them as bans in force (History.KeepBans): they were not decided here.
// The batch takes one turn: its map writes run one after the other, and
// the history keeps them in one write (a 100k-decision snapshot is one
// store transaction, not 100k fsyncs). It returns the bans it changed;
// an enforcer error skips that ban and is returned joined.
func (j *Jail) BanExternal(bans []Ban) (changed []Ban, ignored []netip.Prefix, err error) {
	ds, t, ignored := j.decideExternal(bans)
	var (
		errs   []error
		lifted []Ban
	)
	j.enforce(t, func() {
		for _, d := range ds {
			l, err := j.enforceBan(d)
			if err != nil {
				errs = append(errs, fmt.Errorf("ban %v: %w", d.ban.Prefix, err))
				continue
			}
			lifted = append(lifted, l...)
			changed = append(changed, d.ban)
		}
	})
	j.report(t, func() {
		if len(changed) > 0 {
			if e := j.history.KeepBans(changed); e != nil {
				errs = append(errs, fmt.Errorf("keep %d bans: %w", len(changed), e))
			}
		}
		j.forget(lifted)
	})
	return changed, ignored, errors.Join(errs...)
}

// decideExternal decides BanExternal's bans under the lock, with one turn
// for all of them.
func (j *Jail) decideExternal(bans []Ban) (ds []*banDecision, t turn, ignored []netip.Prefix) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for _, b := range bans {
		if !b.Prefix.IsValid() || !b.ActiveAt(now) {
			continue
		}
		b.Prefix = normPrefix(b.Prefix)
		if j.ignore.CheckBan(b.Prefix, now) != nil {
			ignored = append(ignored, b.Prefix)
			continue
		}
		old, ok := j.bans.get(b.Prefix)
		switch {
		case !ok:
			if b.Count == 0 {
				b.Count = 1
			}
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
		d := &banDecision{ban: b}
		j.enter(d)
		ds = append(ds, d)
	}
	return ds, j.takeTurn(), ignored
}

// UnbanExternal lifts the bans of ps whose origin is origin; a ban of the
// same prefix from another origin stays (the jail or an operator banned
// it too). Unban hooks run for what it lifted, which it returns.
func (j *Jail) UnbanExternal(ps []netip.Prefix, origin Origin) ([]Ban, error) {
	lifting, t := j.decideUnbanExternal(ps, origin)
	var (
		out  []Ban
		errs []error
	)
	j.enforce(t, func() {
		for _, b := range lifting {
			if err := j.enf.Unban(b.Prefix); err != nil && !errors.Is(err, ErrNotBanned) {
				errs = append(errs, fmt.Errorf("unban %v: %w", b.Prefix, err))
				continue
			}
			out = append(out, b)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, b := range lifting {
			j.settle(b.Prefix)
		}
	})
	j.report(t, func() { j.forget(out) })
	return out, errors.Join(errs...)
}

func (j *Jail) decideUnbanExternal(ps []netip.Prefix, origin Origin) ([]Ban, turn) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Ban
	for _, p := range ps {
		p = normPrefix(p)
		b, ok := j.bans.get(p)
		if !ok || b.Origin != origin {
			continue
		}
		j.bans.remove(p)
		j.pend(p)
		out = append(out, b)
	}
	return out, j.takeTurn()
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
	j.bans.each(func(b Ban) {
		if b.Origin == origin && b.ActiveAt(now) {
			out = append(out, b.Prefix)
		}
	})
	return out
}
