package jail

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// ErrNotBanned is returned by Unban for a prefix no ban covers.
var ErrNotBanned = errors.New("not banned")

// BanManual bans p as an explicit `xdpban ban` does. A single IPv6
// address is banned as the IPv6 ban prefix holding it, which is what the
// map enforces; a ban that would cover an ignoreip or ignoreself address
// is refused with ErrCoversIgnored. d < 0 bans permanently; d == 0 uses
// bantime, incremented as for a jail ban. A ban of the same prefix
// already in force is prolonged to the new end, as fail2ban's
// actionprolong asks, and is no new ban (no ban hook, the ban count
// stays); one that already ends later, or is permanent, is kept as it is.
// Either way the ban in force is returned.
func (j *Jail) BanManual(p netip.Prefix, d time.Duration) (Ban, error) {
	if !p.IsValid() {
		return Ban{}, errors.New("ban: invalid prefix")
	}
	// Control requests carry a parsed duration; check it again, as a
	// client could send any number.
	if err := CheckDuration(d); d > 0 && err != nil {
		return Ban{}, fmt.Errorf("ban %v: duration %v: %w", p, d, err)
	}
	dec, inForce, err := j.decideManual(BanPrefix(p, j.cfg.IPv6Prefix), d)
	if err != nil || dec == nil {
		return inForce, err
	}
	b, err := j.carryOut(dec)
	if b == nil {
		return Ban{}, err
	}
	return *b, err
}

// decideManual decides the manual ban of p, or the longer end of the ban
// of p in force, or refuses it by the ignore rule. With nothing to do it
// returns the ban in force and no decision.
func (j *Jail) decideManual(p netip.Prefix, d time.Duration) (*banDecision, Ban, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	if err := j.checkBan(p, now); err != nil {
		return nil, Ban{}, fmt.Errorf("ban %v: %w", p, err)
	}
	prior := j.priorBans(p, now)
	if d == 0 {
		d = j.cfg.banDuration(prior, j.rnd)
	}
	if old, ok := j.bans.get(p); ok && old.ActiveAt(now) {
		return j.extend(old, d, now)
	}
	b := Ban{Prefix: p, Start: now, Origin: OriginManual, Count: prior + 1}
	if d > 0 {
		b.End = now.Add(d)
	}
	// As after a jail ban, the address's failure record starts over.
	if k, kp := keyOf(p.Addr(), j.cfg.IPv6Prefix); kp == p {
		if i, ok := j.failures.get(k); ok {
			j.failures.remove(i)
		}
	}
	dec := &banDecision{ban: b}
	j.decided(dec)
	return dec, b, nil
}

// extend decides the end now + d (d < 0: permanent) for the ban b in
// force if that is later; otherwise there is nothing to do and b stays
// the ban in force. Under mu.
func (j *Jail) extend(b Ban, d time.Duration, now time.Time) (*banDecision, Ban, error) {
	var end time.Time
	if d > 0 {
		end = now.Add(d)
	}
	if b.Permanent() || (!end.IsZero() && !end.After(b.End)) {
		return nil, b, nil
	}
	b.End = end
	dec := &banDecision{ban: b, prolong: true}
	j.decided(dec)
	return dec, b, nil
}

// Unban lifts the ban of p. For a single address that a wider ban covers
// (an IPv6 /64, say), it lifts that ban: the user names the address they
// see in the log. A ban the jail does not hold is still lifted in the
// enforcer, which may hold one written around the jail.
func (j *Jail) Unban(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("unban: invalid prefix")
	}
	p = normPrefix(p)
	b, known, t := j.decideUnban(p)
	var err error
	j.enforce(t, func() {
		err = j.enf.Unban(b.Prefix)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.settle(b.Prefix)
		if known && err != nil && !errors.Is(err, ErrNotBanned) && j.pending[b.Prefix] == 0 {
			if _, again := j.bans.get(b.Prefix); !again {
				j.bans.add(b) // still in force: the map kept it
			}
		}
	})
	j.report(t, func() {
		if known && (err == nil || errors.Is(err, ErrNotBanned)) {
			j.forget([]Ban{b})
		}
	})
	switch {
	case !known && errors.Is(err, ErrNotBanned):
		return fmt.Errorf("unban %v: %w", p, ErrNotBanned)
	case err != nil && !errors.Is(err, ErrNotBanned):
		return fmt.Errorf("unban %v: %w", b.Prefix, err)
	}
	return nil
}

// decideUnban removes the ban of p, or the one covering the address p,
// and draws the unban's turn; known is false when the jail held none.
func (j *Jail) decideUnban(p netip.Prefix) (b Ban, known bool, t turn) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, known = j.bans.get(p)
	if !known && p.IsSingleIP() {
		b, known = j.bans.covering(p.Addr(), j.now())
	}
	if known {
		j.bans.remove(b.Prefix)
	} else {
		b = Ban{Prefix: p}
	}
	j.pend(b.Prefix)
	return b, known, j.takeTurn()
}

// Adopt takes bans restored at start into the jail as they are: the ban
// set has reconciled them with the map and the store already, so Adopt
// calls neither the enforcer nor the history, and runs no hooks.
func (j *Jail) Adopt(bans []Ban) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.bans.fill(bans) {
		return
	}
	j.bans.reserve(len(bans))
	for _, b := range bans {
		b.Prefix = normPrefix(b.Prefix)
		j.bans.add(b)
	}
}

// Refuser returns the ignore rule as it stands now: IgnoreList.CheckBan
// on the prefix the map enforces (BanPrefix). It checks a restore's
// million bans without taking the jail's lock and reading the clock for
// each; a refusal counts in Stats.Refused.
func (j *Jail) Refuser() func(netip.Prefix) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	j.ignore.refresh(now)
	l := *j.ignore
	l.self = slices.Clone(l.self) // refresh reuses the array
	l.selfFn = nil                // a snapshot: it does not refresh
	return func(p netip.Prefix) error {
		err := l.CheckBan(BanPrefix(p, j.cfg.IPv6Prefix), now)
		if err != nil {
			j.mu.Lock()
			j.stats.Refused++
			j.mu.Unlock()
		}
		return err
	}
}

// Expire removes the bans whose end has passed and returns them. The
// kernel stops enforcing them by itself; the enforcer is asked to delete
// them too so the map does not fill with dead entries. It also drops
// failure records older than findtime.
func (j *Jail) Expire() []Ban {
	out, t := j.decideExpire()
	j.enforce(t, func() {
		var failed uint64
		for _, b := range out {
			if err := j.enf.Unban(b.Prefix); err != nil && !errors.Is(err, ErrNotBanned) {
				failed++
			}
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		j.stats.UnbanErrors += failed
		for _, b := range out {
			j.settle(b.Prefix)
		}
	})
	j.report(t, func() { j.forget(out) })
	return out
}

func (j *Jail) decideExpire() ([]Ban, turn) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	j.failures.expire(now.UnixNano()-int64(j.cfg.FindTime), -1)
	out := j.bans.popEnded(now)
	sortBans(out)
	for _, b := range out {
		j.pend(b.Prefix)
	}
	return out, j.takeTurn()
}

// Bans returns the bans in force, the soonest to end first and permanent
// ones last.
func (j *Jail) Bans() []Ban {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	out := make([]Ban, 0, j.bans.len())
	j.bans.each(func(b Ban) {
		if b.ActiveAt(now) {
			out = append(out, b)
		}
	})
	sortBans(out)
	return out
}

// Stats returns the jail's counters.
func (j *Jail) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.CurrentlyFailed = j.failures.len()
	s.CurrentlyBanned = j.inForce(j.now())
	return s
}

func sortBans(bs []Ban) {
	slices.SortFunc(bs, func(x, y Ban) int {
		switch {
		case x.End.IsZero() != y.End.IsZero():
			if x.End.IsZero() {
				return 1
			}
			return -1
		case !x.End.Equal(y.End):
			return x.End.Compare(y.End)
		}
		return cmp.Compare(x.Prefix.String(), y.Prefix.String())
	})
}
