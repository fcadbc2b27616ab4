package jail

import (
	"fmt"
	"net/netip"
	"time"
)

// WithOnProlong sets a function called, in order with the other hooks,
// after failures of a banned address extended its ban (so the store can
// keep the new end). The ban hook does not run for it.
func WithOnProlong(f func(Ban)) Option { return func(j *Jail) { j.onProlong = f } }

// prolong handles maxretry failures of an address that is banned already,
// as fail2ban's ban manager does: the failures are used up, and the ban of
// the counting prefix p is extended to last failure + bantime when that is
// later than its end. It is no new ban: no ban hook, the ban count and
// TotalBanned stay. A ban that would end sooner that way, or a ban of a
// wider prefix covering p, is left as it is. It is called with mu held and
// releases it.
func (j *Jail) prolong(i int32, p netip.Prefix, last, now time.Time) error {
	j.track.remove(i)
	b, own := j.bans.byPrefix[p]
	if !own || b.Permanent() {
		j.mu.Unlock()
		return nil
	}
	var end time.Time // permanent when bantime is
	if j.cfg.BanTime >= 0 {
		end = last.Add(j.cfg.BanTime)
		if !end.After(b.End) {
			j.mu.Unlock()
			return nil
		}
	}
	if err := j.enf.Ban(p, end); err != nil {
		j.stats.BanErrors++
		j.mu.Unlock()
		return fmt.Errorf("prolong ban %v: %w", p, err)
	}
	b.End = end
	j.bans.add(b)
	defer j.hookTurn()()
	if j.onProlong != nil {
		j.onProlong(b)
	}
	return nil
}
