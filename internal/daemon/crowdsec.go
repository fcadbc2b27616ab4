package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/crowdsec"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/metrics"
)

// CrowdSecOptions link the daemon to a CrowdSec Local API: decisions pulled
// with a bouncer key (one key per gateway), jail bans pushed as a machine.
type CrowdSecOptions struct {
	URL            string // "" off
	BouncerKeyFile string // "" pulls nothing
	Interval       time.Duration
	Filter         crowdsec.Filter
	Machine        string // "" pushes nothing
	PasswordFile   string
}

// pushQueueFile keeps the pushes LAPI has not taken yet across restarts.
const pushQueueFile = "crowdsec-push.json"

func (o *CrowdSecOptions) validate(logOnly bool) error {
	if o.URL == "" {
		if o.BouncerKeyFile != "" || o.Machine != "" {
			return fmt.Errorf("crowdsec-url: give the Local API's URL for the bouncer key or the machine to be used")
		}
		return nil
	}
	if logOnly {
		return fmt.Errorf("crowdsec-url: log-only mode bans nothing, so it can neither enforce decisions nor push bans")
	}
	if err := crowdsec.CheckURL(o.URL); err != nil {
		return fmt.Errorf("crowdsec-url: %w", err)
	}
	if o.BouncerKeyFile == "" && o.Machine == "" {
		return fmt.Errorf("crowdsec-url: give --crowdsec-bouncer-key-file to pull decisions, --crowdsec-machine to push bans, or both")
	}
	if (o.Machine == "") != (o.PasswordFile == "") {
		return fmt.Errorf("crowdsec-machine: needs --crowdsec-password-file, and the other way round")
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	return nil
}

// readSecret reads a key or password file, trimmed.
func readSecret(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", flag, path)
	}
	return s, nil
}

// csLink is the daemon's side of the CrowdSec link.
type csLink struct {
	d      *daemon
	url    string
	puller *crowdsec.Puller // nil: no pull
	pusher *crowdsec.Pusher // nil: no push

	mu      sync.Mutex
	renewed map[prefixKey]time.Time // when a decision last put each crowdsec ban in force
	ignored atomic.Uint64
}

// startCrowdSec builds the link; nothing talks to LAPI until run.
func (d *daemon) startCrowdSec() error {
	o := d.o.CrowdSec
	if o.URL == "" || d.o.LogOnly {
		return nil
	}
	l := &csLink{d: d, url: o.URL, renewed: map[prefixKey]time.Time{}}
	logf := func(format string, args ...any) { d.log.Warn(fmt.Sprintf(format, args...)) }
	if o.BouncerKeyFile != "" {
		key, err := readSecret("crowdsec-bouncer-key-file", o.BouncerKeyFile)
		if err != nil {
			return err
		}
		if l.puller, err = crowdsec.NewPuller(crowdsec.PullConfig{
			URL: o.URL, Key: key, Interval: o.Interval, Filter: o.Filter, Logf: logf, Snapshot: l.snapshotApplied,
		}, l); err != nil {
			return err
		}
	}
	if o.Machine != "" {
		pw, err := readSecret("crowdsec-password-file", o.PasswordFile)
		if err != nil {
			return err
		}
		if l.pusher, err = crowdsec.NewPusher(crowdsec.PushConfig{
			URL: o.URL, Machine: o.Machine, Password: pw, Logf: logf,
			Store: crowdsec.FileQueue(filepath.Join(d.o.StateDir, pushQueueFile)),
		}); err != nil {
			return err
		}
	}
	d.cs = l
	d.metrics.RegisterCrowdSec(l.metricsSnapshot)
	return nil
}

// run pulls and pushes until ctx ends.
func (l *csLink) run(ctx context.Context, spawn func(func())) {
	if l.puller != nil {
		spawn(func() { l.puller.Run(ctx) })
	}
	if l.pusher != nil {
		spawn(func() { l.pusher.Run(ctx) })
	}
}

// ApplyDecisions puts decisions in force through the jail, as bans of
// origin crowdsec ending when the decision does; ignoreip wins.
func (l *csLink) ApplyDecisions(_ context.Context, ds []crowdsec.Decision) error {
	now := time.Now()
	bans := make([]jail.Ban, 0, len(ds))
	l.mu.Lock()
	for _, dc := range ds {
		if dc.Duration <= 0 {
			continue
		}
		p := l.banPrefix(dc.Prefix)
		bans = append(bans, jail.Ban{Prefix: p, Start: now, End: now.Add(dc.Duration), Origin: jail.OriginCrowdSec})
		l.renewed[keyOf(p)] = now
	}
	l.mu.Unlock()
	// The ban set keeps what changed in the store (History.KeepBans).
	_, ignored, err := l.d.jail.BanExternal(bans)
	if err != nil {
		l.d.log.Error("crowdsec: some decisions could not be put in force", "err", err)
	}
	for _, p := range ignored {
		l.ignored.Add(1)
		l.forget(p)
		l.d.log.Info("crowdsec: decision skipped: ignoreip covers part of it", "prefix", p)
	}
	return nil
}

// banPrefix is what a decision bans here: an IPv6 prefix longer than
// --ipv6-prefix widens to it, as the jail's own bans and the datapath's
// lookups do, so a decision and a jail ban of one source are one ban.
func (l *csLink) banPrefix(p netip.Prefix) netip.Prefix {
	if l.d.dp == nil || !p.Addr().Is6() || p.Addr().Is4In6() {
		return p
	}
	if bits := l.d.dp.IPv6Prefix(); p.Bits() > bits {
		return netip.PrefixFrom(p.Addr(), bits).Masked()
	}
	return p
}

// DeleteDecisions lifts the bans of deleted decisions, unless the jail or
// an operator banned the same prefix.
func (l *csLink) DeleteDecisions(_ context.Context, ds []crowdsec.Decision) error {
	ps := make([]netip.Prefix, 0, len(ds))
	l.mu.Lock()
	for _, dc := range ds {
		p := l.banPrefix(dc.Prefix)
		ps = append(ps, p)
		delete(l.renewed, keyOf(p))
	}
	l.mu.Unlock()
	if _, err := l.d.jail.UnbanExternal(ps, jail.OriginCrowdSec); err != nil {
		l.d.log.Error("crowdsec: lift deleted decisions", "err", err)
	}
	return nil
}

// snapshotApplied follows a complete startup snapshot: crowdsec bans it did
// not renew are no longer decisions on LAPI (deleted while the link was
// down, or before this daemon started), so they are lifted.
func (l *csLink) snapshotApplied(_ context.Context, sent time.Time) error {
	var gone []netip.Prefix
	l.mu.Lock()
	for _, p := range l.d.jail.PrefixesOf(jail.OriginCrowdSec) {
		if at, ok := l.renewed[keyOf(p)]; !ok || at.Before(sent) {
			gone = append(gone, p)
			delete(l.renewed, keyOf(p))
		}
	}
	l.mu.Unlock()
	if len(gone) == 0 {
		return nil
	}
	lifted, err := l.d.jail.UnbanExternal(gone, jail.OriginCrowdSec)
	l.d.log.Info("crowdsec: snapshot reconciled", "lifted", len(lifted))
	return err
}

// forget drops what the link knew of a crowdsec ban that ended or was
// lifted, so its memory holds only bans in force.
func (l *csLink) forget(p netip.Prefix) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.renewed, keyOf(p))
	l.mu.Unlock()
}

// pushBan sends a jail ban to LAPI; bans of other origins are not the
// jail's own findings (a pulled decision is never pushed back).
func (l *csLink) pushBan(b jail.Ban, failures int) {
	if l == nil || l.pusher == nil || b.Origin != jail.OriginJail {
		return
	}
	l.pusher.Ban(b.Prefix, b.End, b.Start, failures)
}

// pushUnban deletes the decisions on p from LAPI after `xdpban unban`.
func (l *csLink) pushUnban(p netip.Prefix) {
	if l == nil || l.pusher == nil {
		return
	}
	l.pusher.Unban(p)
}

// metricsSnapshot is status for the metrics package.
func (l *csLink) metricsSnapshot() (metrics.CrowdSecSnapshot, bool) {
	s := l.status()
	if s == nil {
		return metrics.CrowdSecSnapshot{}, false
	}
	return metrics.CrowdSecSnapshot{
		Pull: s.Pull, Push: s.Push, Reachable: s.Reachable, LastPull: s.LastPull, LastPush: s.LastPush,
		Applied: s.Applied, Skipped: s.Skipped, Deleted: s.Deleted,
		Queued: s.Queued, Sent: s.Sent, Failed: s.Failed, Dropped: s.Dropped, Pending: s.Pending,
	}, true
}

// status reports the link for `xdpban status` and the metrics.
func (l *csLink) status() *control.CrowdSec {
	if l == nil {
		return nil
	}
	s := &control.CrowdSec{URL: l.url, Pull: l.puller != nil, Push: l.pusher != nil, Skipped: map[string]uint64{}}
	if l.puller != nil {
		ps := l.puller.Stats()
		s.Reachable, s.LastPull, s.Deleted = ps.Reachable, ps.LastPull, ps.Deleted
		ign := l.ignored.Load()
		s.Applied = ps.Applied - min(ps.Applied, ign)
		s.Skipped = ps.Skipped
		s.Skipped["ignoreip"] = ign
	}
	if l.pusher != nil {
		ps := l.pusher.Stats()
		s.LastPush, s.Queued, s.Sent, s.Failed, s.Dropped, s.Pending = ps.LastPush, ps.Queued, ps.Sent, ps.Failed, ps.Dropped, ps.Pending
		if l.puller == nil {
			s.Reachable = ps.Failed == 0 || !ps.LastPush.IsZero()
		}
	}
	return s
}
