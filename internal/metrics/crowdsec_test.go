package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestCrowdSecFamilies(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	snap := CrowdSecSnapshot{
		Pull: true, Push: true, Reachable: true,
		LastPull: now.Add(-3 * time.Second), LastPush: now.Add(-time.Minute),
		Applied: 10, Skipped: map[string]uint64{"type": 2, "ignoreip": 1}, Deleted: 4,
		Queued: 7, Sent: 5, Failed: 3, Dropped: 1, Pending: 2,
	}
	configured := true
	m := New(nil, nil)
	m.RegisterCrowdSec(func() (CrowdSecSnapshot, bool) { return snap, configured })
	out := scrape(t, m.Handler())
	for _, want := range []string{
		"xdpban_crowdsec_lapi_up 1",
		"xdpban_crowdsec_last_pull_timestamp_seconds 1.799999997e+09",
		"xdpban_crowdsec_last_push_timestamp_seconds 1.79999994e+09",
		"xdpban_crowdsec_decisions_applied_total 10",
		`xdpban_crowdsec_decisions_skipped_total{reason="type"} 2`,
		`xdpban_crowdsec_decisions_skipped_total{reason="ignoreip"} 1`,
		"xdpban_crowdsec_decisions_deleted_total 4",
		`xdpban_crowdsec_pushes_total{result="queued"} 7`,
		`xdpban_crowdsec_pushes_total{result="sent"} 5`,
		`xdpban_crowdsec_pushes_total{result="failed"} 3`,
		`xdpban_crowdsec_pushes_total{result="dropped"} 1`,
		"xdpban_crowdsec_push_queue_length 2",
		"xdpban_crowdsec_last_pull_age_seconds ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	snap.Reachable = false
	if out := scrape(t, m.Handler()); !strings.Contains(out, "xdpban_crowdsec_lapi_up 0") {
		t.Error("LAPI down does not show as xdpban_crowdsec_lapi_up 0")
	}
	configured = false
	if out := scrape(t, m.Handler()); strings.Contains(out, "xdpban_crowdsec_lapi_up") {
		t.Error("families shown without a CrowdSec link")
	}
}
