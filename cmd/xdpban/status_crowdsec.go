package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/control"
)

// printCrowdSec prints the link to the CrowdSec Local API.
func printCrowdSec(w io.Writer, cs *control.CrowdSec, now time.Time) {
	state := "reachable"
	if !cs.Reachable {
		state = "UNREACHABLE (bans stay in force; retrying)"
	}
	fmt.Fprintf(w, "\nCrowdSec (%s)\n", cs.URL)
	fmt.Fprintf(w, "|- lapi:         %s\n", state)
	if cs.Pull {
		last := "never"
		if !cs.LastPull.IsZero() {
			last = fmt.Sprintf("%s ago", now.Sub(cs.LastPull).Round(time.Second))
		}
		var skipped []string
		for _, r := range slices.Sorted(maps.Keys(cs.Skipped)) {
			if n := cs.Skipped[r]; n > 0 {
				skipped = append(skipped, fmt.Sprintf("%s %d", r, n))
			}
		}
		if len(skipped) == 0 {
			skipped = []string{"none"}
		}
		fmt.Fprintf(w, "|- pull:         last %s; decisions applied %d, deleted %d, skipped: %s\n", last, cs.Applied, cs.Deleted, strings.Join(skipped, ", "))
	}
	if cs.Push {
		last := "never"
		if !cs.LastPush.IsZero() {
			last = fmt.Sprintf("%s ago", now.Sub(cs.LastPush).Round(time.Second))
		}
		fmt.Fprintf(w, "`- push:         last %s; queued %d, sent %d, failed %d, dropped %d, pending %d\n", last, cs.Queued, cs.Sent, cs.Failed, cs.Dropped, cs.Pending)
	}
}
