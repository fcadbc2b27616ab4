package jail

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// Jail counts failures and bans through an Enforcer. It is safe for
// concurrent use by several event sources.
type Jail struct {
	cfg       Config
	enf       Enforcer
	now       func() time.Time
	rnd       func() float64
	history   History
	onBan     func(Ban, []event.Failure)
	onUnban   func(Ban)
	onProlong func(Ban)

	// enforcing and reporting run decisions' actions in order, outside
	// mu (order.go).
	enforcing, reporting sequence

	// mu guards everything below, and the sequences' tickets.
	mu       sync.Mutex
	failures *failureTimes
	ignore   *IgnoreList
	bans     activeBans
	pending  map[netip.Prefix]int
	stats    Stats
}

// Option changes how New builds a Jail.
type Option func(*Jail)

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(j *Jail) { j.now = now } }

// WithHistory sets where bans and ban counts are kept; the default is a
// MemHistory.
func WithHistory(h History) Option { return func(j *Jail) { j.history = h } }

// WithRand sets the source of bantime.rndtime, returning numbers in [0, 1).
func WithRand(rnd func() float64) Option { return func(j *Jail) { j.rnd = rnd } }

// WithOnBan sets a function called after every ban the jail makes, in
// order, outside the jail's lock, with the failure that completed the
// count (none for a manual ban). Only that failure is kept, so memory per
// tracked address stays fixed.
func WithOnBan(f func(Ban, []event.Failure)) Option { return func(j *Jail) { j.onBan = f } }

// WithOnUnban sets a function called after every unban, expiry and
// eviction, in order with the bans.
func WithOnUnban(f func(Ban)) Option { return func(j *Jail) { j.onUnban = f } }

// New returns a jail that bans through enf.
func New(cfg Config, enf Enforcer, opts ...Option) (*Jail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new jail: %w", err)
	}
	if enf == nil {
		return nil, errors.New("new jail: no enforcer")
	}
	j := &Jail{
		cfg:      cfg,
		enf:      enf,
		now:      time.Now,
		rnd:      rand.Float64,
		failures: newFailureTimes(cfg.MaxTracked, cfg.MaxRetry),
		ignore:   newIgnoreList(cfg),
		bans:     newActiveBans(),
		pending:  make(map[netip.Prefix]int),
	}
	for _, o := range opts {
		o(j)
	}
	if j.history == nil {
		j.history = NewMemHistory()
	}
	return j, nil
}

// banDecision is a ban decided under the lock, to put in force outside it.
type banDecision struct {
	ban     Ban
	prev    *Ban // the ban of the same prefix it replaces (manual bans, prolonging)
	prolong bool // a later end for a ban in force: no new ban
	fs      []event.Failure
	turn    turn
	// The failures that led to a jail ban, given back when the enforcer
	// refuses it, so the next failure tries again.
	key    addrKey
	times  []int64 // stored before this failure, one per unit of weight
	ts     int64   // this failure
	weight int
}

// Fail counts one failure and returns the ban it caused, if any. A ban
// returned together with an error is in force, but its history could not
// be recorded.
func (j *Jail) Fail(ev event.Failure) (*Ban, error) {
	a := ev.Addr.Unmap()
	if !a.IsValid() {
		return nil, errors.New("count failure: invalid address")
	}
	d, err := j.decideFail(a, ev)
	switch {
	case d == nil:
		return nil, err
	case d.prolong:
		_, err := j.carryOut(d)
		return nil, err
	}
	return j.carryOut(d)
}

// decideFail counts the failure and returns the ban it decides, if any,
// or the ignore rule's refusal.
func (j *Jail) decideFail(a netip.Addr, ev event.Failure) (*banDecision, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	t := ev.Time
	if t.IsZero() {
		t = now
	}
	j.ignore.refresh(now)
	if j.ignore.containsAddr(a) {
		j.stats.Ignored++
		return nil, nil
	}
	// fail2ban ignores lines older than findtime: they can no longer be
	// part of a window that ends now.
	if t.Before(now.Add(-j.cfg.FindTime)) {
		return nil, nil
	}
	j.stats.TotalFailed++
	// Failures of a banned source still count, as in fail2ban: a watched
	// log may come from a host or port XDP does not guard.
	_, banned := j.bans.covering(a, now)
	j.failures.expire(now.UnixNano()-int64(j.cfg.FindTime), 2)

	k, p := keyOf(a, j.cfg.IPv6Prefix)
	i, ok := j.failures.get(k)
	if ok {
		j.failures.touch(i)
	} else {
		var dropped bool
		i, dropped = j.failures.add(k, j.cfg.retryWeight(j.priorBans(p, now)))
		if dropped {
			j.stats.DroppedTracked++
		}
	}
	ts := t.UnixNano()
	w := int(j.failures.recs[i].weight)
	if !j.failures.wouldBan(i, ts, w, int64(j.cfg.FindTime)) {
		j.failures.insert(i, ts, w)
		return nil, nil
	}
	if banned {
		return j.decideProlong(i, p, t, now), nil
	}

	// fail2ban lets a ban run from the failure that caused it, so a line
	// read late bans only for what is left, and not at all when nothing is.
	start := t
	if start.After(now) {
		start = now
	}
	if err := j.checkBan(p, now); err != nil {
		// The prefix the map would hold (an IPv6 /64, say) holds an
		// ignored address too. Banning the offender alone cannot be
		// enforced, so nothing is banned; its count starts over, so the
		// refusal is reported once per maxretry failures, not per failure.
		j.failures.remove(i)
		return nil, fmt.Errorf("ban %v: %w", p, err)
	}
	prior := j.priorBans(p, now)
	b := Ban{Prefix: p, Start: start, Origin: OriginJail, Count: prior + 1}
	if d := j.cfg.banDuration(prior, j.rnd); d >= 0 {
		b.End = start.Add(d)
		if !b.End.After(now) {
			j.failures.remove(i)
			return nil, nil
		}
	}
	d := &banDecision{ban: b, fs: []event.Failure{ev}, key: k, weight: w, ts: ts,
		times: append([]int64(nil), j.failures.slot(i)...)}
	j.failures.remove(i)
	j.decided(d)
	return d, nil
}

// decided enters d's ban as in force and draws its turn; under mu.
func (j *Jail) decided(d *banDecision) {
	j.enter(d)
	d.turn = j.takeTurn()
}

// enter enters d's ban as in force, its enforcer call pending; under mu.
func (j *Jail) enter(d *banDecision) {
	if prev, ok := j.bans.get(d.ban.Prefix); ok {
		d.prev = &prev
	}
	j.bans.add(d.ban)
	j.pend(d.ban.Prefix)
}

// carryOut puts a decided ban in force, then records it and runs the
// hooks. When the enforcer refuses it, the jail forgets it again.
func (j *Jail) carryOut(d *banDecision) (*Ban, error) {
	var (
		err    error
		lifted []Ban
	)
	j.enforce(d.turn, func() { lifted, err = j.enforceBan(d) })
	var herr error
	j.report(d.turn, func() {
		switch {
		case err != nil:
		case d.prolong:
			if e := j.history.KeepBans([]Ban{d.ban}); e != nil {
				herr = fmt.Errorf("keep prolonged ban %v: %w", d.ban.Prefix, e)
			}
			if j.onProlong != nil {
				j.onProlong(d.ban)
			}
		default:
			if e := j.history.RecordBan(d.ban); e != nil {
				herr = fmt.Errorf("record ban %v: %w", d.ban.Prefix, e)
			}
			if j.onBan != nil {
				j.onBan(d.ban, d.fs)
			}
		}
		j.forget(lifted)
	})
	if err != nil {
		if d.prolong {
			return nil, fmt.Errorf("prolong ban %v: %w", d.ban.Prefix, err)
		}
		return nil, fmt.Errorf("ban %v: %w", d.ban.Prefix, err)
	}
	return &d.ban, herr
}

// enforceBan makes the enforcer call of d, in d's turn of the enforcer
// stage, and returns the bans an eviction lifted. When the enforcer
// refuses the ban, the jail forgets it again.
func (j *Jail) enforceBan(d *banDecision) (lifted []Ban, err error) {
	evicted, err := j.enf.Ban(d.ban)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.settle(d.ban.Prefix)
	if err != nil {
		j.undoBan(d)
		return nil, err
	}
	if !d.prolong && (d.ban.Origin == OriginJail || d.prev == nil) {
		j.stats.TotalBanned++
	}
	if evicted.IsValid() {
		j.stats.Evicted++
		// A later decision about the victim, which the map has not
		// seen yet, stands.
		if v, ok := j.bans.get(evicted); ok && j.pending[evicted] == 0 {
			j.bans.remove(evicted)
			lifted = append(lifted, v)
		}
	}
	return lifted, nil
}

// undoBan takes back a ban the enforcer refused, unless a later decision
// changed the prefix since; under mu.
func (j *Jail) undoBan(d *banDecision) {
	if d.prolong {
		j.stats.BanErrors++ // the failures are used up, as in fail2ban
	} else if d.ban.Origin == OriginJail {
		j.stats.BanErrors++
		// Keep the failures so the next one tries again.
		i, ok := j.failures.get(d.key)
		if !ok {
			i, _ = j.failures.add(d.key, d.weight)
		}
		for _, ts := range d.times {
			j.failures.insert(i, ts, 1)
		}
		j.failures.insert(i, d.ts, d.weight)
	}
	if cur, ok := j.bans.get(d.ban.Prefix); !ok || !cur.same(d.ban) || j.pending[d.ban.Prefix] > 0 {
		return
	}
	j.bans.remove(d.ban.Prefix)
	if d.prev != nil {
		j.bans.add(*d.prev)
	}
}

// forget tells the history and the unban hook of bans no longer in force;
// in the report stage. The history logs its own errors: an unban has
// happened whether or not the store heard of it.
func (j *Jail) forget(bs []Ban) {
	for _, b := range bs {
		j.history.ForgetBan(b)
		if j.onUnban != nil {
			j.onUnban(b)
		}
	}
}

// checkBan applies the ignore rule to the ban of p, counting a refusal.
// It is called with mu held.
func (j *Jail) checkBan(p netip.Prefix, now time.Time) error {
	if err := j.ignore.CheckBan(p, now); err != nil {
		j.stats.Refused++
		return err
	}
	return nil
}

// priorBans returns how often p was banned within dbpurgeage. A history
// that cannot be read counts as none: the ban still happens, only shorter.
func (j *Jail) priorBans(p netip.Prefix, now time.Time) int {
	if !j.cfg.Increment {
		return 0
	}
	n, err := j.history.BanCount(p, now.Add(-j.cfg.DBPurgeAge))
	if err != nil {
		return 0
	}
	return n
}
