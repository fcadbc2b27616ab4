package crowdsec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PullConfig is what the remediation side needs.
type PullConfig struct {
	URL      string        // LAPI base URL, e.g. http://127.0.0.1:8080/
	Key      string        // this gateway's bouncer API key (one per gateway)
	Interval time.Duration // between delta pulls; default 10s
	Filter   Filter
	// Client defaults to one with connection and header timeouts.
	Client *http.Client
	// Timeout bounds one pull, body included; default 2 minutes (a
	// snapshot of a hundred thousand decisions takes about a second).
	Timeout time.Duration
	// Logf reports state changes (LAPI lost, back); nil: silent.
	Logf func(format string, args ...any)
	// Snapshot, when set, is called after each complete startup snapshot
	// was applied, with the time its request was sent: bans from LAPI
	// applied before then and not renewed by the snapshot are gone there.
	Snapshot func(ctx context.Context, sent time.Time) error
}

// Puller follows LAPI's decision stream: a startup snapshot, then deltas
// every Interval. While LAPI is unreachable it retries with backoff and
// changes nothing, so every ban stays enforced; once LAPI answers again it
// reconciles with a fresh snapshot.
type Puller struct {
	cfg    PullConfig
	sink   Sink
	filter *Filter
	stats  pullStats
	logf   func(string, ...any)
}

// NewPuller checks cfg and returns a Puller that feeds sink.
func NewPuller(cfg PullConfig, sink Sink) (*Puller, error) {
	if _, err := baseURL(cfg.URL); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Key) == "" {
		return nil, errors.New("crowdsec bouncer key is empty: register one with `cscli bouncers add NAME` and put it in the key file")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = newHTTPClient()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	p := &Puller{cfg: cfg, sink: sink, filter: &cfg.Filter, logf: cfg.Logf}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	p.stats.skipped = map[string]*atomic.Uint64{}
	for _, r := range []string{SkipType, SkipScope, SkipOrigin, SkipScenario, SkipInvalid} {
		p.stats.skipped[r] = new(atomic.Uint64)
	}
	return p, nil
}

// Run pulls until ctx ends.
func (p *Puller) Run(ctx context.Context) error {
	startup := true
	var failures int
	for {
		err := p.PullOnce(ctx, startup)
		wait := p.cfg.Interval
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if failures == 0 {
				p.logf("crowdsec: pull decisions: %v (bans stay in force; retrying)", err)
			}
			failures++
			startup = true // the stream position may be lost: reconcile
			wait = backoff(failures, p.cfg.Interval)
		default:
			if failures > 0 {
				p.logf("crowdsec: LAPI reachable again after %d failed pulls", failures)
			}
			failures = 0
			startup = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// backoff doubles from one second up to a ceiling of max(interval, 30s).
func backoff(failures int, interval time.Duration) time.Duration {
	ceiling := max(interval, 30*time.Second)
	d := time.Second << min(failures-1, 10)
	return min(d, ceiling)
}

// PullOnce fetches one response of the stream and applies it: the whole
// current set when startup is true, the changes since the last pull
// otherwise.
func (p *Puller) PullOnce(ctx context.Context, startup bool) error {
	// A LAPI that stops sending mid-answer must not stall the link.
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	u, err := baseURL(p.cfg.URL)
	if err != nil {
		return err
	}
	u = u.JoinPath("v1", "decisions", "stream")
	q := url.Values{}
	if startup {
		q.Set("startup", "true")
	}
	p.filter.query(q)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("pull decisions: %w", err)
	}
	req.Header.Set("X-Api-Key", strings.TrimSpace(p.cfg.Key))
	req.Header.Set("User-Agent", userAgent)
	sent := time.Now()
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		p.stats.setReachable(false)
		return fmt.Errorf("pull decisions: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.stats.setReachable(false)
		return fmt.Errorf("pull decisions: %w", statusError(resp))
	}
	// A startup snapshot lists every decision in force, and with them old
	// deletions, often of addresses banned anew. With a Snapshot callback
	// to lift what the snapshot did not renew, its deletions are not
	// applied at all: applying them first would lift such a ban for as
	// long as the rest of the snapshot takes to arrive.
	ignoreDeletions := startup && p.cfg.Snapshot != nil
	if err := p.decodeStream(ctx, resp.Body, ignoreDeletions); err != nil {
		p.stats.setReachable(false)
		return err
	}
	if startup && p.cfg.Snapshot != nil {
		if err := p.cfg.Snapshot(ctx, sent); err != nil {
			return err
		}
	}
	p.stats.pulled(time.Now())
	return nil
}

func (p *Puller) skip(reason string, deleted bool) {
	if !deleted {
		p.stats.skipped[reason].Add(1)
	}
}

// PullStats are the remediation side's counters.
type PullStats struct {
	Reachable bool
	LastPull  time.Time // last complete pull; zero before the first
	Applied   uint64    // decisions handed to the sink to ban
	Deleted   uint64    // deletions handed to the sink
	Skipped   map[string]uint64
}

// Stats returns the counters so far.
func (p *Puller) Stats() PullStats {
	s := PullStats{Applied: p.stats.applied.Load(), Deleted: p.stats.deleted.Load(), Skipped: map[string]uint64{}}
	p.stats.mu.Lock()
	s.Reachable, s.LastPull = p.stats.reachable, p.stats.lastPull
	p.stats.mu.Unlock()
	for r, n := range p.stats.skipped {
		s.Skipped[r] = n.Load()
	}
	return s
}

type pullStats struct {
	applied, deleted atomic.Uint64
	skipped          map[string]*atomic.Uint64 // fixed keys, set at construction
	mu               sync.Mutex
	reachable        bool
	lastPull         time.Time
}

func (s *pullStats) setReachable(ok bool) {
	s.mu.Lock()
	s.reachable = ok
	s.mu.Unlock()
}

func (s *pullStats) pulled(at time.Time) {
	s.mu.Lock()
	s.reachable, s.lastPull = true, at
	s.mu.Unlock()
}
