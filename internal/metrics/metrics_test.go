package metrics

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xdpban/xdpban/internal/jail"
)

func fixedXDP(s XDPSnapshot) XDPReader { return func() (XDPSnapshot, error) { return s, nil } }

func fixedJail(s jail.Stats) JailReader { return func() jail.Stats { return s } }

// scrape fetches the handler's text exposition as a client would.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScrapeEveryFamily(t *testing.T) {
	m := New(fixedXDP(XDPSnapshot{
		PacketCounts: PacketCounts{Seen: 97, Passed: 60, Dropped: 37, ExpiredHits: 2, ParseFailures: 1},
		Bans:         25, MaxBans: 100, Interfaces: []string{"eth0", "eth1", "eth0"},
		Attached: map[string]bool{"eth0": true, "eth1": false},
	}), fixedJail(jail.Stats{
		CurrentlyFailed: 4, TotalFailed: 40, TotalBanned: 9, CurrentlyBanned: 3, DroppedTracked: 5, Ignored: 6, Refused: 2,
		BanErrors: 7, UnbanErrors: 8,
	}))
	m.Handshake(true, 0)
	m.Handshake(true, 0)
	m.Handshake(false, 167772359)
	m.Handshake(false, 167772359)
	m.Handshake(false, 167773208)
	m.Ban("jail", 300*time.Microsecond)
	m.Ban("jail", 2*time.Second)
	m.Ban("manual", -time.Second) // counts as 0
	m.Unban("expired")
	m.Evicted()
	m.Evicted()
	m.HookFailed("on-ban")
	m.HandshakeRefused("busy")
	m.ForwardError()

	want := `
# HELP xdpban_ban_map_capacity Maximum number of entries of the XDP ban map (--max-bans).
# TYPE xdpban_ban_map_capacity gauge
xdpban_ban_map_capacity 100
# HELP xdpban_ban_map_fill_ratio Entries in the XDP ban map divided by its capacity, from 0 to 1.
# TYPE xdpban_ban_map_fill_ratio gauge
xdpban_ban_map_fill_ratio 0.25
# HELP xdpban_backend_forward_errors_total Partners whose handshake succeeded but whose connection could not be forwarded to --backend.
# TYPE xdpban_backend_forward_errors_total counter
xdpban_backend_forward_errors_total 1
# HELP xdpban_bans_active Bans in force (a ban that ended and waits for the sweep is not counted).
# TYPE xdpban_bans_active gauge
xdpban_bans_active 25
# HELP xdpban_bans_dropped_full_total Bans that could not be put in force, or were evicted, because the ban map was full.
# TYPE xdpban_bans_dropped_full_total counter
xdpban_bans_dropped_full_total 2
# HELP xdpban_bans_total Bans put in force since start, by origin: jail (maxretry failures) or manual (xdpban ban); restored and imported bans are not counted.
# TYPE xdpban_bans_total counter
xdpban_bans_total{origin="jail"} 2
xdpban_bans_total{origin="manual"} 1
# HELP xdpban_handshakes_total TLS handshakes on the listener by result (ok, failed) and, for failures, the OpenSSL 3 packed error code written to the fail2ban log.
# TYPE xdpban_handshakes_total counter
xdpban_handshakes_total{code="",result="ok"} 2
xdpban_handshakes_total{code="167772359",result="failed"} 2
xdpban_handshakes_total{code="167773208",result="failed"} 1
# HELP xdpban_handshakes_refused_total Connections the listener closed before any signature for a reason that is not the source's doing (busy: every handshake slot taken; unknown-capacity: no CPU turn for an unknown source in time), by reason; not failures.
# TYPE xdpban_handshakes_refused_total counter
xdpban_handshakes_refused_total{reason="busy"} 1
# HELP xdpban_hook_failures_total --on-ban / --on-unban commands that failed, timed out or were dropped, by kind: on-ban or on-unban.
# TYPE xdpban_hook_failures_total counter
xdpban_hook_failures_total{kind="on-ban"} 1
# HELP xdpban_jail_banned_current Bans currently in force according to the jail.
# TYPE xdpban_jail_banned_current gauge
xdpban_jail_banned_current 3
# HELP xdpban_jail_banned_total Bans made by the jail since start.
# TYPE xdpban_jail_banned_total counter
xdpban_jail_banned_total 9
# HELP xdpban_jail_enforcer_errors_total Map writes that failed, by operation: ban (a ban decided on failures that could not be put in force; the next failure retries) and unban (an expired ban left in the map; the kernel no longer enforces it).
# TYPE xdpban_jail_enforcer_errors_total counter
xdpban_jail_enforcer_errors_total{op="ban"} 7
xdpban_jail_enforcer_errors_total{op="unban"} 8
# HELP xdpban_jail_failed_current Addresses (or IPv6 prefixes) with failures being tracked within findtime.
# TYPE xdpban_jail_failed_current gauge
xdpban_jail_failed_current 4
# HELP xdpban_jail_failed_total Failures counted by the jail since start.
# TYPE xdpban_jail_failed_total counter
xdpban_jail_failed_total 40
# HELP xdpban_jail_bans_refused_total Bans not made because their prefix (as enforced: an IPv6 ban covers --ipv6-prefix) covers an ignoreip or ignoreself address: decided on failures, asked for with xdpban ban, or found at restore.
# TYPE xdpban_jail_bans_refused_total counter
xdpban_jail_bans_refused_total 2
# HELP xdpban_jail_ignored_total Failures from ignoreip addresses, not counted towards a ban.
# TYPE xdpban_jail_ignored_total counter
xdpban_jail_ignored_total 6
# HELP xdpban_jail_tracked_dropped_total Failure records dropped because the jail's tracking table was full.
# TYPE xdpban_jail_tracked_dropped_total counter
xdpban_jail_tracked_dropped_total 5
# HELP xdpban_unbans_total Bans lifted since start, by reason: expired, or manual (xdpban unban, ignore add, reload, a CrowdSec decision deleted).
# TYPE xdpban_unbans_total counter
xdpban_unbans_total{reason="expired"} 1
# HELP xdpban_xdp_attached Per --iface: 1 while the XDP program is in force on it (also under a new name after a rename), 0 while it is not: the interface is gone, or attaching again after it came back failed (see the daemon's log).
# TYPE xdpban_xdp_attached gauge
xdpban_xdp_attached{iface="eth0"} 1
xdpban_xdp_attached{iface="eth1"} 0
# HELP xdpban_xdp_expired_hits_total Packets from a source whose ban had ended but was still in the map: passed, and counted in xdpban_xdp_packets_total{result="passed"}.
# TYPE xdpban_xdp_expired_hits_total counter
xdpban_xdp_expired_hits_total 2
# HELP xdpban_xdp_packets_total Packets the XDP program saw on all interfaces, summed over CPUs, by result: passed or dropped (from a banned source); the two add up to every packet seen.
# TYPE xdpban_xdp_packets_total counter
xdpban_xdp_packets_total{result="dropped"} 37
xdpban_xdp_packets_total{result="passed"} 60
# HELP xdpban_xdp_parse_failures_total Malformed or truncated packets: passed, and counted in xdpban_xdp_packets_total{result="passed"}.
# TYPE xdpban_xdp_parse_failures_total counter
xdpban_xdp_parse_failures_total 1
# HELP xdpban_xdp_up 1 when the XDP counters and ban map could be read at this scrape, 0 when reading failed (the other xdpban_xdp_* and ban map series are then absent).
# TYPE xdpban_xdp_up gauge
xdpban_xdp_up 1
`
	names := []string{
		"xdpban_ban_map_capacity", "xdpban_ban_map_fill_ratio", "xdpban_bans_active",
		"xdpban_bans_dropped_full_total", "xdpban_bans_total", "xdpban_handshakes_total", "xdpban_handshakes_refused_total",
		"xdpban_hook_failures_total", "xdpban_jail_banned_current", "xdpban_jail_banned_total",
		"xdpban_jail_enforcer_errors_total", "xdpban_jail_failed_current", "xdpban_jail_failed_total",
		"xdpban_jail_bans_refused_total", "xdpban_jail_ignored_total", "xdpban_jail_tracked_dropped_total", "xdpban_unbans_total", "xdpban_xdp_attached",
		"xdpban_xdp_packets_total", "xdpban_xdp_up", "xdpban_backend_forward_errors_total",
		"xdpban_xdp_expired_hits_total", "xdpban_xdp_parse_failures_total",
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// The histogram, with its buckets from 50µs to 10s.
	body := scrape(t, m.Handler())
	for _, line := range []string{
		`# TYPE xdpban_ban_latency_seconds histogram`,
		`xdpban_ban_latency_seconds_bucket{le="5e-05"} 1`,
		`xdpban_ban_latency_seconds_bucket{le="0.0005"} 2`,
		`xdpban_ban_latency_seconds_bucket{le="1"} 2`,
		`xdpban_ban_latency_seconds_bucket{le="2.5"} 3`,
		`xdpban_ban_latency_seconds_bucket{le="10"} 3`,
		`xdpban_ban_latency_seconds_bucket{le="+Inf"} 3`,
		`xdpban_ban_latency_seconds_count 3`,
		`xdpban_ban_latency_seconds_sum 2.0003`,
		`# TYPE go_goroutines gauge`,
		`promhttp_metric_handler_requests_total{code="200"} 0`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("scrape lacks %q", line)
		}
	}
	// Every family of ours has a Help string.
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "xdpban_") {
			ours++
			if len(mf.GetHelp()) < 20 {
				t.Errorf("%s: help %q too short", mf.GetName(), mf.GetHelp())
			}
		}
	}
	if ours != len(names)+2 { // and the histogram, and build_info
		t.Errorf("got %d xdpban_ families, want %d", ours, len(names)+2)
	}
}

// TestScrapeIsLive checks that the readers are called at every scrape.
func TestScrapeIsLive(t *testing.T) {
	var dropped, failed atomic.Uint64
	m := New(func() (XDPSnapshot, error) {
		return XDPSnapshot{PacketCounts: PacketCounts{Dropped: dropped.Load()}, MaxBans: 10}, nil
	}, func() jail.Stats {
		return jail.Stats{TotalFailed: failed.Load()}
	})
	h := m.Handler()
	for i := uint64(1); i <= 3; i++ {
		dropped.Store(i * 1000)
		failed.Store(i)
		body := scrape(t, h)
		for _, line := range []string{
			`xdpban_xdp_packets_total{result="dropped"} ` + itoa(i*1000),
			`xdpban_jail_failed_total ` + itoa(i),
		} {
			if !strings.Contains(body, line+"\n") {
				t.Errorf("scrape %d lacks %q", i, line)
			}
		}
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

// TestLogOnly: no XDP reader, no XDP families; the jail's are there.
func TestLogOnly(t *testing.T) {
	m := New(nil, fixedJail(jail.Stats{CurrentlyBanned: 2}))
	body := scrape(t, m.Handler())
	if strings.Contains(body, "xdpban_xdp_") || strings.Contains(body, "xdpban_ban_map_") || strings.Contains(body, "xdpban_bans_active") {
		t.Errorf("log-only scrape shows XDP series:\n%s", body)
	}
	if !strings.Contains(body, "xdpban_jail_banned_current 2\n") {
		t.Errorf("log-only scrape lacks the jail gauge")
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "xdpban_handshakes_total"); err != nil || n != 1 {
		t.Errorf("handshakes series at start = %d, %v; want the ok series at 0", n, err)
	}
}

// TestXDPReadError: a failing reader gives xdp_up 0 and no stale values,
// and the scrape itself still succeeds.
func TestXDPReadError(t *testing.T) {
	m := New(func() (XDPSnapshot, error) { return XDPSnapshot{}, errors.New("map gone") }, nil)
	body := scrape(t, m.Handler())
	if !strings.Contains(body, "xdpban_xdp_up 0\n") {
		t.Errorf("scrape lacks xdpban_xdp_up 0:\n%s", body)
	}
	if strings.Contains(body, "xdpban_xdp_packets_total") || strings.Contains(body, "xdpban_jail_") {
		t.Errorf("scrape shows series it could not read")
	}
}

func TestFillRatioZeroCapacity(t *testing.T) {
	m := New(fixedXDP(XDPSnapshot{Bans: 3}), nil)
	if body := scrape(t, m.Handler()); !strings.Contains(body, "xdpban_ban_map_fill_ratio 0\n") {
		t.Errorf("fill ratio with capacity 0 is not 0:\n%s", body)
	}
}

// TestPerInterfacePackets: each attached interface's own counters are a
// family of their own, labelled by interface and result.
func TestPerInterfacePackets(t *testing.T) {
	m := New(fixedXDP(partitioned()), nil)
	body := scrape(t, m.Handler())
	for _, want := range []string{
		`xdpban_xdp_interface_packets_total{iface="eth0",result="dropped"} 9`,
		`xdpban_xdp_interface_packets_total{iface="eth1",result="passed"} 4`,
		`xdpban_xdp_packets_total{result="dropped"} 10`,
		`xdpban_xdp_parse_failures_total 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// TestWatchFiles: each watched file has its own series of lines by result
// and of rotations.
func TestWatchFiles(t *testing.T) {
	m := New(nil, nil)
	m.WatchFiles(func() []WatchSnapshot {
		return []WatchSnapshot{{File: "/var/log/os4x/tls.log", Read: 10, Matched: 3, TooOld: 4, Unparsed: 2, TooLong: 1, Rotations: 2}}
	})
	body := scrape(t, m.Handler())
	for _, want := range []string{
		`xdpban_watch_lines_total{file="/var/log/os4x/tls.log",result="matched"} 3`,
		`xdpban_watch_lines_total{file="/var/log/os4x/tls.log",result="too_old"} 4`,
		`xdpban_watch_lines_total{file="/var/log/os4x/tls.log",result="unparsed"} 2`,
		`xdpban_watch_lines_total{file="/var/log/os4x/tls.log",result="too_long"} 1`,
		`xdpban_watch_rotations_total{file="/var/log/os4x/tls.log"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func partitioned() XDPSnapshot {
	return XDPSnapshot{
		PacketCounts: PacketCounts{Seen: 30, Passed: 20, Dropped: 10, ParseFailures: 1, ExpiredHits: 2}, Interfaces: []string{"eth0", "eth1"},
		PerInterface: map[string]PacketCounts{
			"eth0": {Seen: 25, Passed: 16, Dropped: 9, ExpiredHits: 2},
			"eth1": {Seen: 5, Passed: 4, Dropped: 1, ParseFailures: 1},
		},
	}
}

// TestLabelsSumToTheTotal: the result label of the packet families is a
// partition: summed over it (and over the interfaces) it gives every
// packet seen, and no other family's packets are counted twice in it.
func TestLabelsSumToTheTotal(t *testing.T) {
	snap := partitioned()
	m := New(fixedXDP(snap), nil)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			sums[mf.GetName()] += s.GetCounter().GetValue()
		}
	}
	m.WatchFiles(func() []WatchSnapshot {
		return []WatchSnapshot{{File: "/var/log/os4x/tls.log", Read: 10, Matched: 3, TooOld: 4, Unparsed: 2, TooLong: 1}}
	})
	mfs, err = m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums = map[string]float64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			sums[mf.GetName()] += s.GetCounter().GetValue()
		}
	}
	for name, want := range map[string]uint64{
		"xdpban_watch_lines_total":           10,
		"xdpban_xdp_packets_total":           snap.Seen,
		"xdpban_xdp_interface_packets_total": snap.PerInterface["eth0"].Seen + snap.PerInterface["eth1"].Seen,
	} {
		if sums[name] != float64(want) {
			t.Errorf("%s sums to %v over its labels, want every packet seen: %d", name, sums[name], want)
		}
	}
}

// TestHelpNamesTheLabelValues: every value an enumerated label takes is
// named in its family's HELP text, so the text never promises series
// that are not there nor hides ones that are.
func TestHelpNamesTheLabelValues(t *testing.T) {
	m := New(fixedXDP(partitioned()), fixedJail(jail.Stats{}))
	for _, o := range []string{"jail", "manual"} {
		m.Ban(o, 0)
	}
	for _, r := range []string{"expired", "manual"} {
		m.Unban(r)
	}
	for _, k := range []string{"on-ban", "on-unban"} {
		m.HookFailed(k)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "xdpban_") {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				switch l.GetName() {
				case "iface", "code", "version", "revision", "goversion":
					continue // open-ended values
				}
				if !strings.Contains(mf.GetHelp(), l.GetValue()) {
					t.Errorf("%s: label %s=%q is not named in its help %q", mf.GetName(), l.GetName(), l.GetValue(), mf.GetHelp())
				}
			}
		}
	}
}

// TestPromtoolCheckMetrics: Prometheus's own linter finds nothing in a
// scrape with every family present.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not installed (Debian's prometheus package; make deps installs it)")
	}
	m := NewVersioned("v1.2.3", fixedXDP(partitioned()), fixedJail(jail.Stats{TotalFailed: 3}))
	m.Handshake(false, 167772359)
	m.Ban("jail", time.Millisecond)
	m.Unban("expired")
	m.Evicted()
	m.HookFailed("on-ban")
	m.ForwardError()
	m.WatchFiles(func() []WatchSnapshot {
		return []WatchSnapshot{{File: "/var/log/os4x/tls.log", Read: 3, Matched: 3, Rotations: 1}}
	})
	body := scrape(t, m.Handler())
	if !strings.Contains(body, `xdpban_build_info{goversion="`) || !strings.Contains(body, `version="v1.2.3"} 1`) {
		t.Errorf("no xdpban_build_info in:\n%s", body)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
