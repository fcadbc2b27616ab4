package jail

import (
	"math"
	"time"
)

// maxExponent is where fail2ban's default formula stops doubling
// (ban.Count if ban.Count<20 else 20).
const maxExponent = 20

// banDuration returns how long to ban an address that was banned prior
// times before (within dbpurgeage), following fail2ban's observer:
// the first ban, and every ban without bantime.increment, lasts bantime;
// later ones last
//
//	bantime * factor * multipliers[min(prior, len-1)]      with multipliers
//	max(bantime, bantime * 2^min(prior, 20) * factor)      without
//
// capped at maxtime, plus a random part below rndtime, and never beyond
// MaxDuration (without maxtime the formula reaches 2^20 bantimes, which
// would overflow the ban's end). A negative result means permanent. rnd
// returns a number in [0, 1).
func (c Config) banDuration(prior int, rnd func() float64) time.Duration {
	if c.BanTime < 0 {
		return -1
	}
	// fail2ban only evaluates the formula for an address seen banned
	// before; maxtime and rndtime are part of the formula, so a first ban
	// is plain bantime.
	if !c.Increment || prior <= 0 {
		return c.BanTime
	}
	base := float64(c.BanTime)
	var d float64
	if len(c.Multipliers) > 0 {
		d = base * c.Factor * float64(c.Multipliers[min(prior, len(c.Multipliers)-1)])
	} else {
		d = max(base, base*math.Exp2(float64(min(prior, maxExponent)))*c.Factor)
	}
	if c.MaxTime > 0 {
		d = min(d, float64(c.MaxTime))
	}
	if c.RndTime > 0 {
		d += rnd() * float64(c.RndTime)
	}
	// Clamped in floats, before the conversion could wrap.
	if !(d < float64(MaxDuration)) {
		return MaxDuration
	}
	return time.Duration(d)
}

// retryWeight is how many failures one failure of an address banned prior
// times before counts as, with bantime.increment: fail2ban's observer
// counts known bad addresses harder (1, 2, 3, 5, 9, ... never above
// maxretry), so a returning attacker is banned sooner.
func (c Config) retryWeight(prior int) int {
	if !c.Increment || prior <= 0 {
		return 1
	}
	// Python's (1 << n) / 2 + 1 with true division, truncated by int().
	w := (1<<min(prior, maxExponent))/2 + 1
	return min(w, c.MaxRetry)
}
