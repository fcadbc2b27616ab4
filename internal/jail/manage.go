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
	p = BanPrefix(p, j.cfg.IPv6Prefix)
	j.mu.Lock()
	now := j.now()
	if err := j.checkBan(p, now); err != nil {
		j.mu.Unlock()
		return Ban{}, fmt.Errorf("ban %v: %w", p, err)
	}
	prior := j.priorBans(p, now)
	if d == 0 {
		d = j.cfg.banDuration(prior, j.rnd)
	}
	if old, ok := j.bans.byPrefix[p]; ok && old.ActiveAt(now) {
		return j.extend(old, d, now)
	}
	b := Ban{Prefix: p, Start: now, Origin: OriginManual, Count: prior + 1}
	if d > 0 {
		b.End = now.Add(d)
	}
	if err := j.enf.Ban(p, b.End); err != nil {
		j.mu.Unlock()
		return Ban{}, fmt.Errorf("ban %v: %w", p, err)
	}
	// As after a jail ban, the address's failure record starts over.
	if k, kp := keyOf(p.Addr(), j.cfg.IPv6Prefix); kp == p {
		if i, ok := j.track.get(k); ok {
			j.track.remove(i)
		}
	}
	if replaced := j.bans.add(b); !replaced {
		j.stats.TotalBanned++
	}
	return b, j.afterBan(b, nil)
}

// extend gives the ban b in force the end now + d (d < 0: permanent) if
// that is later, and returns the ban in force. It is called with mu held
// and releases it.
func (j *Jail) extend(b Ban, d time.Duration, now time.Time) (Ban, error) {
	var end time.Time
	if d > 0 {
		end = now.Add(d)
	}
	if b.Permanent() || (!end.IsZero() && !end.After(b.End)) {
		j.mu.Unlock()
		return b, nil
	}
	if err := j.enf.Ban(b.Prefix, end); err != nil {
		j.mu.Unlock()
		return Ban{}, fmt.Errorf("ban %v: %w", b.Prefix, err)
	}
	b.End = end
	j.bans.add(b)
	defer j.hookTurn()()
	if j.onProlong != nil {
		j.onProlong(b)
	}
	return b, nil
}

// Unban lifts the ban of p. For a single address that a wider ban covers
// (an IPv6 /64, say), it lifts that ban: the user names the address they
// see in the log.
func (j *Jail) Unban(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("unban: invalid prefix")
	}
	p = normPrefix(p)
	j.mu.Lock()
	b, ok := j.bans.byPrefix[p]
	if !ok && p.IsSingleIP() {
		b, ok = j.bans.covering(p.Addr(), j.now())
	}
	if !ok {
		j.mu.Unlock()
		return fmt.Errorf("unban %v: %w", p, ErrNotBanned)
	}
	if err := j.enf.Unban(b.Prefix); err != nil {
		j.mu.Unlock()
		return fmt.Errorf("unban %v: %w", b.Prefix, err)
	}
	j.bans.remove(b.Prefix)
	j.afterUnban(b)
	return nil
}

// Restore puts bans saved before a restart back in force with the time
// they had left, each as the prefix the map enforces (see BanPrefix).
// Bans already over are dropped, and so are bans that now cover an
// ignoreip or ignoreself address, manual ones too. No hooks run: the bans
// come from the store. It returns how many it restored and dropped; a
// refused ban (ErrCoversIgnored) and an enforcer error skip that ban and
// are returned joined.
func (j *Jail) Restore(bans []Ban) (restored, dropped int, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	j.bans.reserve(len(bans))
	var errs []error
	for _, b := range bans {
		if !b.Prefix.IsValid() || !b.ActiveAt(now) {
			dropped++
			continue
		}
		b.Prefix = BanPrefix(b.Prefix, j.cfg.IPv6Prefix)
		if err := j.checkBan(b.Prefix, now); err != nil {
			errs = append(errs, fmt.Errorf("restore ban %v: %w", b.Prefix, err))
			dropped++
			continue
		}
		if err := j.enf.Ban(b.Prefix, b.End); err != nil {
			errs = append(errs, fmt.Errorf("restore ban %v: %w", b.Prefix, err))
			dropped++
			continue
		}
		j.bans.add(b)
		restored++
	}
	return restored, dropped, errors.Join(errs...)
}

// Expire removes the bans whose end has passed and returns them. The
// kernel stops enforcing them by itself; the enforcer is asked to delete
// them too so the map does not fill with dead entries. It also drops
// failure records older than findtime.
func (j *Jail) Expire() []Ban {
	j.mu.Lock()
	now := j.now()
	j.track.expire(now.UnixNano()-int64(j.cfg.FindTime), -1)
	out := j.bans.popEnded(now)
	for _, b := range out {
		if err := j.enf.Unban(b.Prefix); err != nil {
			j.stats.UnbanErrors++
		}
	}
	sortBans(out)
	j.afterUnban(out...)
	return out
}

// Bans returns the bans in force, the soonest to end first and permanent
// ones last.
func (j *Jail) Bans() []Ban {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	out := make([]Ban, 0, j.bans.len())
	for _, b := range j.bans.byPrefix {
		if b.ActiveAt(now) {
			out = append(out, b)
		}
	}
	sortBans(out)
	return out
}

// Stats returns the jail's counters.
func (j *Jail) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.CurrentlyFailed = j.track.len()
	s.CurrentlyBanned = j.bans.len()
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
