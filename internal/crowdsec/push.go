package crowdsec

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PushKind says what a queued push does on LAPI.
type PushKind string

const (
	PushBan   PushKind = "ban"   // post an alert with a ban decision
	PushUnban PushKind = "unban" // delete the decisions on the prefix
)

// Push is one queued change for LAPI.
type Push struct {
	Kind   PushKind     `json:"kind"`
	Prefix netip.Prefix `json:"prefix"`
	Until  time.Time    `json:"until,omitzero"` // ban end; zero: permanent
	At     time.Time    `json:"at,omitzero"`    // when the jail banned
	Events int          `json:"events,omitempty"`
}

// QueueStore keeps the pushes not yet sent across a restart.
type QueueStore interface {
	LoadQueue() ([]Push, error)
	SaveQueue([]Push) error
}

// PushConfig is what the watcher side needs.
type PushConfig struct {
	URL      string
	Machine  string
	Password string
	Store    QueueStore // nil: the queue lives in memory only
	MaxQueue int        // default 10,000; the oldest pushes go first
	Client   *http.Client
	Logf     func(format string, args ...any)
}

// DefaultMaxQueue bounds the pushes kept while LAPI is unreachable.
const DefaultMaxQueue = 10_000

// alertsPerPost bounds one POST /v1/alerts.
const alertsPerPost = 100

// Pusher sends the jail's bans and the operator's unbans to LAPI. Adding
// to its queue never blocks, so pushing never delays a local ban; Run
// sends what is queued, keeps what failed (bounded, stored), and retries
// with backoff.
type Pusher struct {
	w        *watcher
	cfg      PushConfig
	logf     func(string, ...any)
	wake     chan struct{}
	mu       sync.Mutex
	queue    []Push
	dirty    bool // queue differs from the store
	inflight int  // queue[:inflight] is being sent

	queued, sent, failed, dropped atomic.Uint64
	lastPush                      atomic.Int64 // unix ns of the last successful send
}

// NewPusher checks cfg and loads the queue a previous run left.
func NewPusher(cfg PushConfig) (*Pusher, error) {
	base, err := baseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Machine) == "" || strings.TrimSpace(cfg.Password) == "" {
		return nil, errors.New("crowdsec push needs a machine id and a password: register one with `cscli machines add ID --password P`")
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.Client == nil {
		cfg.Client = newHTTPClient()
	}
	p := &Pusher{
		w:   &watcher{base: base, machine: strings.TrimSpace(cfg.Machine), password: strings.TrimSpace(cfg.Password), client: cfg.Client},
		cfg: cfg, logf: cfg.Logf, wake: make(chan struct{}, 1),
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	if cfg.Store != nil {
		q, err := cfg.Store.LoadQueue()
		if err != nil {
			p.logf("crowdsec: the stored push queue is unreadable, starting empty: %v", err)
		}
		p.queue = q
		p.trim()
	}
	return p, nil
}

// Ban queues an alert for a jail ban.
func (p *Pusher) Ban(prefix netip.Prefix, until, at time.Time, events int) {
	p.add(Push{Kind: PushBan, Prefix: prefix, Until: until, At: at, Events: events})
}

// Unban queues the deletion of the decisions on prefix.
func (p *Pusher) Unban(prefix netip.Prefix) {
	p.add(Push{Kind: PushUnban, Prefix: prefix})
}

func (p *Pusher) add(it Push) {
	p.mu.Lock()
	p.queue = append(p.queue, it)
	p.trim()
	p.dirty = true
	p.mu.Unlock()
	p.queued.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// trim drops the oldest pushes beyond the bound, sparing the batch being
// sent (Flush removes it by its length). Called with mu held.
func (p *Pusher) trim() {
	over := min(len(p.queue)-p.cfg.MaxQueue, len(p.queue)-p.inflight)
	if over > 0 {
		q := append(p.queue[:p.inflight:p.inflight], p.queue[p.inflight+over:]...)
		p.queue = append([]Push(nil), q...)
		p.dropped.Add(uint64(over))
	}
}

// Run sends queued pushes until ctx ends, then stores what is left.
func (p *Pusher) Run(ctx context.Context) error {
	failures := 0
	defer p.save()
	for {
		err := p.Flush(ctx)
		wait := time.Duration(-1)
		if err != nil && ctx.Err() == nil {
			if failures == 0 {
				p.logf("crowdsec: push to LAPI: %v (kept in the queue; retrying)", err)
			}
			failures++
			wait = backoff(failures, 0)
		} else if err == nil {
			if failures > 0 {
				p.logf("crowdsec: pushes reach LAPI again")
			}
			failures = 0
		}
		p.save()
		var retry <-chan time.Time
		if wait >= 0 {
			retry = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-retry:
		}
	}
}

// Flush sends everything queued now, in order; what fails stays queued.
func (p *Pusher) Flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		batch := append([]Push(nil), p.head()...)
		p.inflight = len(batch)
		p.mu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		err := p.send(ctx, batch)
		p.mu.Lock()
		p.inflight = 0
		if err == nil {
			p.queue = p.queue[len(batch):]
			p.dirty = true
		}
		p.mu.Unlock()
		if err != nil {
			p.failed.Add(uint64(len(batch)))
			return err
		}
		p.sent.Add(uint64(len(batch)))
		p.lastPush.Store(time.Now().UnixNano())
	}
}

// head is the next batch: up to alertsPerPost bans, or one unban, so the
// order of a ban and its unban is kept. Called with mu held.
func (p *Pusher) head() []Push {
	n := 0
	for n < len(p.queue) && n < alertsPerPost && p.queue[n].Kind == PushBan {
		n++
	}
	if n == 0 && len(p.queue) > 0 {
		n = 1
	}
	return p.queue[:n:n]
}

// pushTimeout bounds one push (login included).
const pushTimeout = 30 * time.Second

func (p *Pusher) send(ctx context.Context, batch []Push) error {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	if batch[0].Kind == PushUnban {
		return p.w.deleteDecisions(ctx, batch[0].Prefix)
	}
	now := time.Now()
	alerts := make([]alert, 0, len(batch))
	for _, it := range batch {
		if a, ok := alertFor(it, now); ok {
			alerts = append(alerts, a)
		}
	}
	if len(alerts) == 0 {
		return nil // all ended while queued
	}
	return p.w.postAlerts(ctx, alerts)
}

func (p *Pusher) save() {
	if p.cfg.Store == nil {
		return
	}
	p.mu.Lock()
	if !p.dirty {
		p.mu.Unlock()
		return
	}
	q := append([]Push(nil), p.queue...)
	p.dirty = false
	p.mu.Unlock()
	if err := p.cfg.Store.SaveQueue(q); err != nil {
		p.logf("crowdsec: store the push queue: %v", err)
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
	}
}

// PushStats are the watcher side's counters.
type PushStats struct {
	Queued, Sent, Failed, Dropped uint64
	Pending                       int
	LastPush                      time.Time
}

// Stats returns the counters so far.
func (p *Pusher) Stats() PushStats {
	s := PushStats{Queued: p.queued.Load(), Sent: p.sent.Load(), Failed: p.failed.Load(), Dropped: p.dropped.Load()}
	if ns := p.lastPush.Load(); ns != 0 {
		s.LastPush = time.Unix(0, ns)
	}
	p.mu.Lock()
	s.Pending = len(p.queue)
	p.mu.Unlock()
	return s
}
