package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CrowdSecReader returns the CrowdSec link's state at scrape time, or
// false when no link is configured.
type CrowdSecReader func() (CrowdSecSnapshot, bool)

// CrowdSecSnapshot is what the link reports.
type CrowdSecSnapshot struct {
	Pull, Push bool
	Reachable  bool
	LastPull   time.Time
	LastPush   time.Time
	Applied    uint64
	Skipped    map[string]uint64 // by reason
	Deleted    uint64
	Queued     uint64
	Sent       uint64
	Failed     uint64
	Dropped    uint64
	Pending    int
}

type crowdsecCollector struct {
	read CrowdSecReader
	now  func() time.Time

	up, lastPull, pullAge, lastPush, applied, skipped, deleted, pushes, pending *prometheus.Desc
}

// RegisterCrowdSec adds the CrowdSec families, read at scrape time.
func (m *Metrics) RegisterCrowdSec(read CrowdSecReader) {
	m.reg.MustRegister(&crowdsecCollector{
		read: read, now: time.Now,
		up:       desc("crowdsec_lapi_up", "1 when the last pull from the CrowdSec Local API got an answer (or, push only, the last push did), 0 while it is unreachable (bans stay in force)."),
		lastPull: desc("crowdsec_last_pull_timestamp_seconds", "Unix time of the last complete pull of decisions (absent before the first)."),
		pullAge:  desc("crowdsec_last_pull_age_seconds", "Seconds since the last complete pull of decisions (absent before the first)."),
		lastPush: desc("crowdsec_last_push_timestamp_seconds", "Unix time of the last push LAPI accepted (absent before the first)."),
		applied:  desc("crowdsec_decisions_applied_total", "Decisions pulled from LAPI and put in force (new or extended)."),
		skipped:  desc("crowdsec_decisions_skipped_total", "Decisions pulled from LAPI and not enforced, by reason: type, scope, origin, scenario (filters), invalid, ignoreip.", "reason"),
		deleted:  desc("crowdsec_decisions_deleted_total", "Deletions of decisions pulled from LAPI (a ban the jail or an operator made too stays)."),
		pushes:   desc("crowdsec_pushes_total", "Pushes of jail bans and unbans to LAPI, by result: queued, sent, failed (kept and retried), dropped (oldest, from a full queue).", "result"),
		pending:  desc("crowdsec_push_queue_length", "Pushes waiting for LAPI."),
	})
}

func (c *crowdsecCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.lastPull, c.pullAge, c.lastPush, c.applied, c.skipped, c.deleted, c.pushes, c.pending} {
		ch <- d
	}
}

func (c *crowdsecCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.read()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	up := 0.0
	if s.Reachable {
		up = 1
	}
	gauge(c.up, up)
	if s.Pull {
		if !s.LastPull.IsZero() {
			gauge(c.lastPull, float64(s.LastPull.UnixNano())/1e9)
			gauge(c.pullAge, c.now().Sub(s.LastPull).Seconds())
		}
		counter(c.applied, s.Applied)
		for reason, n := range s.Skipped {
			counter(c.skipped, n, reason)
		}
		counter(c.deleted, s.Deleted)
	}
	if s.Push {
		if !s.LastPush.IsZero() {
			gauge(c.lastPush, float64(s.LastPush.UnixNano())/1e9)
		}
		for _, r := range []struct {
			name string
			v    uint64
		}{{"queued", s.Queued}, {"sent", s.Sent}, {"failed", s.Failed}, {"dropped", s.Dropped}} {
			counter(c.pushes, r.v, r.name)
		}
		gauge(c.pending, float64(s.Pending))
	}
}
