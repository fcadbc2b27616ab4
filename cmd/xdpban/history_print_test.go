package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/control"
)

// TestHistoryTreeClosesEachBranch: the lines read as fail2ban-client's
// status tree, where the last item of each level starts with "`-" (the
// list of bans once ended on "|-", a branch left open).
func TestHistoryTreeClosesEachBranch(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	t1, t2 := now.Add(-2*time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		bans []time.Time
		want []string
	}{
		{nil, []string{"|- Failures now:", "|- Ban count:\t0", "`- Banned now:\tno"}},
		{[]time.Time{t1}, []string{"|- Failures now:", "|- Ban count:\t1", "|  `- banned at", "`- Banned now:\tno"}},
		{[]time.Time{t1, t2}, []string{"|- Failures now:", "|- Ban count:\t2", "|  |- banned at", "|  `- banned at", "`- Banned now:\tno"}},
	} {
		var b bytes.Buffer
		printHistory(&b, &historyReport{History: control.History{Target: "198.18.0.2", Bans: tc.bans}, BanCount: len(tc.bans)}, now)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if lines[0] != "History of 198.18.0.2" || len(lines) != len(tc.want)+1 {
			t.Fatalf("%d bans: got\n%s", len(tc.bans), b.String())
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(lines[i+1], w) {
				t.Errorf("%d bans: line %d = %q, want it to start with %q", len(tc.bans), i+1, lines[i+1], w)
			}
		}
	}
}
