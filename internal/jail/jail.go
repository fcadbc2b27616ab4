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

	// mu guards everything below. Hooks run outside it, in the order of
	// tickets drawn under it, so they see bans and unbans in the order
	// the jail made them while a slow hook holds up neither failure
	// counting nor other sources.
	mu      sync.Mutex
	hookMu  sync.Mutex
	hookCnd *sync.Cond
	ticket  uint64 // next ticket to hand out, under mu
	serving uint64 // ticket whose hooks may run, under hookMu
	track   *tracker
	ignore  *IgnoreList
	bans    activeBans
	stats   Stats
}

// Option changes how New builds a Jail.
type Option func(*Jail)

// WithClock sets the clock; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(j *Jail) { j.now = now } }

// WithHistory sets where ban counts for bantime.increment are kept; the
// default is a MemHistory.
func WithHistory(h History) Option { return func(j *Jail) { j.history = h } }

// WithRand sets the source of bantime.rndtime, returning numbers in [0, 1).
func WithRand(rnd func() float64) Option { return func(j *Jail) { j.rnd = rnd } }

// WithOnBan sets a function called after every ban the jail makes, in
// order, outside the jail's lock, with the failure that completed the
// count (none for a manual ban). Only that failure is kept, so memory per
// tracked address stays fixed.
func WithOnBan(f func(Ban, []event.Failure)) Option { return func(j *Jail) { j.onBan = f } }

// WithOnUnban sets a function called after every unban and expiry, in
// order with the bans.
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
		cfg:    cfg,
		enf:    enf,
		now:    time.Now,
		rnd:    rand.Float64,
		track:  newTracker(cfg.MaxTracked, cfg.MaxRetry),
		ignore: newIgnoreList(cfg),
		bans:   newActiveBans(),
	}
	j.hookCnd = sync.NewCond(&j.hookMu)
	for _, o := range opts {
		o(j)
	}
	if j.history == nil {
		j.history = NewMemHistory()
	}
	return j, nil
}

// Fail counts one failure and returns the ban it caused, if any. A ban
// returned together with an error is in force, but its history could not
// be recorded.
func (j *Jail) Fail(ev event.Failure) (*Ban, error) {
	a := ev.Addr.Unmap()
	if !a.IsValid() {
		return nil, errors.New("count failure: invalid address")
	}
	j.mu.Lock()
	now := j.now()
	t := ev.Time
	if t.IsZero() {
		t = now
	}
	j.ignore.refresh(now)
	if j.ignore.containsAddr(a) {
		j.stats.Ignored++
		j.mu.Unlock()
		return nil, nil
	}
	// fail2ban ignores lines older than findtime: they can no longer be
	// part of a window that ends now.
	if t.Before(now.Add(-j.cfg.FindTime)) {
		j.mu.Unlock()
		return nil, nil
	}
	j.stats.TotalFailed++
	// Failures of a banned source still count, as in fail2ban: a watched
	// log may come from a host or port XDP does not guard.
	_, banned := j.bans.covering(a, now)
	j.track.expire(now.UnixNano()-int64(j.cfg.FindTime), 2)

	k, p := keyOf(a, j.cfg.IPv6Prefix)
	i, ok := j.track.get(k)
	if ok {
		j.track.touch(i)
	} else {
		var dropped bool
		i, dropped = j.track.add(k, j.cfg.retryWeight(j.priorBans(p, now)))
		if dropped {
			j.stats.DroppedTracked++
		}
	}
	ts := t.UnixNano()
	w := int(j.track.recs[i].weight)
	if !j.track.wouldBan(i, ts, w, int64(j.cfg.FindTime)) {
		j.track.insert(i, ts, w)
		j.mu.Unlock()
		return nil, nil
	}
	if banned {
		return nil, j.prolong(i, p, t, now)
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
		j.track.remove(i)
		j.mu.Unlock()
		return nil, fmt.Errorf("ban %v: %w", p, err)
	}
	prior := j.priorBans(p, now)
	b := Ban{Prefix: p, Start: start, Origin: OriginJail, Count: prior + 1}
	if d := j.cfg.banDuration(prior, j.rnd); d >= 0 {
		b.End = start.Add(d)
		if !b.End.After(now) {
			j.track.remove(i)
			j.mu.Unlock()
			return nil, nil
		}
	}
	if err := j.enf.Ban(p, b.End); err != nil {
		// Keep the failures so the next one tries again.
		j.stats.BanErrors++
		j.track.insert(i, ts, w)
		j.mu.Unlock()
		return nil, fmt.Errorf("ban %v: %w", p, err)
	}
	j.track.remove(i)
	j.bans.add(b)
	j.stats.TotalBanned++
	err := j.afterBan(b, []event.Failure{ev})
	return &b, err
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

// afterBan records b in the history and runs the ban hook. It is called
// with mu held and releases it.
func (j *Jail) afterBan(b Ban, fs []event.Failure) error {
	defer j.hookTurn()()
	var err error
	if herr := j.history.RecordBan(b); herr != nil {
		err = fmt.Errorf("record ban %v: %w", b.Prefix, herr)
	}
	if j.onBan != nil {
		j.onBan(b, fs)
	}
	return err
}

// afterUnban runs the unban hook for bs. It is called with mu held and
// releases it.
func (j *Jail) afterUnban(bs ...Ban) {
	defer j.hookTurn()()
	if j.onUnban != nil {
		for _, b := range bs {
			j.onUnban(b)
		}
	}
}

// hookTurn draws a ticket under mu, releases mu, waits until the hooks of
// every earlier ticket have run, and returns the function that lets the
// next ticket go.
func (j *Jail) hookTurn() func() {
	t := j.ticket
	j.ticket++
	j.mu.Unlock()
	j.hookMu.Lock()
	for j.serving != t {
		j.hookCnd.Wait()
	}
	j.hookMu.Unlock()
	return func() {
		j.hookMu.Lock()
		j.serving++
		j.hookCnd.Broadcast()
		j.hookMu.Unlock()
	}
}
