// Package metrics exposes xdpban's Prometheus metrics on a registry of its
// own (never the global one). Event counters (handshakes, bans, unbans,
// evictions, hook failures, ban latency) are pushed by the daemon as things
// happen; the XDP counters and the jail's gauges are pulled at scrape time
// through reader functions, so a scrape always shows live values.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xdpban/xdpban/internal/jail"
)

const namespace = "xdpban"

// XDPReader returns the datapath's counters and map fill at scrape time. It
// is nil in log-only mode, where no XDP program is loaded.
type XDPReader func() (XDPSnapshot, error)

// XDPSnapshot is what the datapath reports: the per-CPU counters summed over
// all CPUs, the number of entries in the ban map and its capacity, and the
// interfaces the program is attached to.
type XDPSnapshot struct {
	PacketCounts  // on all interfaces
	Bans, MaxBans int
	Interfaces    []string
	// Attached says, by name, whether the program is in force on each
	// interface now, as the kernel says at this scrape.
	Attached map[string]bool
	// PerInterface holds each attached interface's own counters, by name.
	PerInterface map[string]PacketCounts
}

// PacketCounts are one interface's XDP counters, summed over CPUs.
type PacketCounts struct {
	Seen, Passed, Dropped, ExpiredHits, ParseFailures uint64
}

// JailReader returns the jail's counters at scrape time.
type JailReader func() jail.Stats

// LatencyBuckets are the upper bounds, in seconds, of the ban latency
// histogram: 50µs to 10s, dense below 1 ms where xdpban's bans land and
// wide enough above to hold a watched log's or fail2ban's latency.
var LatencyBuckets = []float64{
	50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10,
}

// Metrics holds xdpban's registry and the metrics pushed by the daemon.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg        *prometheus.Registry
	handshakes *prometheus.CounterVec
	refused    *prometheus.CounterVec
	bans       *prometheus.CounterVec
	banLatency prometheus.Histogram
	unbans     *prometheus.CounterVec
	evicted    prometheus.Counter
	hookFails  *prometheus.CounterVec
	forwardErr prometheus.Counter
}

// New builds the registry with xdpban's metrics, the Go runtime and process
// collectors, and a scrape-time collector over xdp (nil in log-only mode:
// the XDP families are then absent) and jail (nil: the jail families are
// absent).
func New(xdp XDPReader, jail JailReader) *Metrics {
	return NewVersioned("", xdp, jail)
}

// NewVersioned is New with xdpban_build_info naming version (the
// release; "" reads as "dev").
func NewVersioned(version string, xdp XDPReader, jail JailReader) *Metrics {
	m := &Metrics{
		reg:        prometheus.NewRegistry(),
		handshakes: counterVec("handshakes_total", "TLS handshakes on the listener by result (ok, failed) and, for failures, the OpenSSL 3 packed error code written to the fail2ban log.", "result", "code"),
		refused:    counterVec("handshakes_refused_total", "Connections the listener closed before any signature for a reason that is not the source's doing (busy: every handshake slot taken; unknown-capacity: no CPU turn for an unknown source in time), by reason; not failures.", "reason"),
		bans:       counterVec("bans_total", "Bans put in force since start, by origin: jail (maxretry failures) or manual (xdpban ban); restored and imported bans are not counted.", "origin"),
		banLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ban_latency_seconds",
			Help:    "Time from the failing event that reached maxretry to the ban being in force.",
			Buckets: LatencyBuckets,
		}),
		unbans: counterVec("unbans_total", "Bans lifted since start, by reason: expired, or manual (xdpban unban, ignore add, reload, a CrowdSec decision deleted).", "reason"),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "bans_dropped_full_total",
			Help: "Bans that could not be put in force, or were evicted, because the ban map was full.",
		}),
		hookFails: counterVec("hook_failures_total", "--on-ban / --on-unban commands that failed, timed out or were dropped, by kind: on-ban or on-unban.", "kind"),
		forwardErr: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "backend_forward_errors_total",
			Help: "Partners whose handshake succeeded but whose connection could not be forwarded to --backend.",
		}),
	}
	m.reg.MustRegister(
		m.handshakes, m.refused, m.bans, m.banLatency, m.unbans, m.evicted, m.hookFails, m.forwardErr,
		newScrapeCollector(xdp, jail),
		buildInfo(version),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Show the ok series at zero from the start, so rate() has a baseline.
	m.handshakes.WithLabelValues("ok", "")
	return m
}

// counterVec is a counter family of ours with labels, as desc is for the
// scrape-time families.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

// Registry returns the registry, for tests or for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handshake counts one TLS handshake: ok, or failed with OpenSSL code.
// The code label is empty for a successful handshake.
func (m *Metrics) Handshake(ok bool, code uint32) {
	if ok {
		m.handshakes.WithLabelValues("ok", "").Inc()
		return
	}
	m.handshakes.WithLabelValues("failed", strconv.FormatUint(uint64(code), 10)).Inc()
}

// HandshakeRefused counts a connection refused without counting it
// against its source.
func (m *Metrics) HandshakeRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// Ban counts a ban by origin and observes its latency, from the failing
// event's time to the ban in force. A negative latency (clock steps, a
// watched log's coarse timestamps) counts as zero.
func (m *Metrics) Ban(origin string, latency time.Duration) {
	m.bans.WithLabelValues(origin).Inc()
	m.banLatency.Observe(max(latency, 0).Seconds())
}

// Unban counts a lifted ban by reason.
func (m *Metrics) Unban(reason string) { m.unbans.WithLabelValues(reason).Inc() }

// Evicted counts a ban dropped because the ban map was full.
func (m *Metrics) Evicted() { m.evicted.Inc() }

// ForwardError counts a partner's connection that --backend did not take.
func (m *Metrics) ForwardError() { m.forwardErr.Inc() }

// HookFailed counts a failed --on-ban or --on-unban command.
func (m *Metrics) HookFailed(kind string) { m.hookFails.WithLabelValues(kind).Inc() }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format, and counts its own scrapes.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		EnableOpenMetrics: true,
		Timeout:           10 * time.Second,
	}))
}
