package jail

import (
	"net/netip"
	"time"
)

// WithOnProlong sets a function called, in order with the other hooks,
// after failures of a banned address extended its ban. The ban hook does
// not run for it.
func WithOnProlong(f func(Ban)) Option { return func(j *Jail) { j.onProlong = f } }

// decideProlong handles maxretry failures of an address that is banned
// already, as fail2ban's ban manager does: the failures are used up, and
// the ban of the counting prefix p is extended to last failure + bantime
// when that is later than its end. It is no new ban: no ban hook, the ban
// count and TotalBanned stay, and the history keeps the new end without
// counting a ban (History.KeepBans). A ban that would end sooner that way,
// or a ban of a wider prefix covering p, is left as it is. Under mu.
func (j *Jail) decideProlong(i int32, p netip.Prefix, last, now time.Time) *banDecision {
	j.failures.remove(i)
	b, own := j.bans.get(p)
	if !own || b.Permanent() {
		return nil
	}
	var end time.Time // permanent when bantime is
	if j.cfg.BanTime >= 0 {
		end = last.Add(j.cfg.BanTime)
		if !end.After(b.End) {
			return nil
		}
	}
	longer := b
	longer.End = end
	d := &banDecision{ban: longer, prolong: true}
	j.decided(d)
	return d
}
