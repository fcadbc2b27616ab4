package bench

import (
	"fmt"
	"strings"
)

// explain is the part of docs/performance.md that says why the headline
// figures are what they are. The reasons are lasting; the numbers in them
// come from the run, and a paragraph whose figures the run lacks is left
// out rather than filled from another day.
func explain(figs []Figure) string {
	byName := map[string]float64{}
	for _, f := range figs {
		if _, dup := byName[f.Name]; !dup {
			byName[f.Name] = f.Value
		}
	}
	// have returns the values of names, or false if the run lacks one.
	have := func(names ...string) ([]string, bool) {
		out := make([]string, len(names))
		for i, n := range names {
			v, ok := byName[n]
			if !ok {
				return nil, false
			}
			out[i] = formatValue(v, "x")
		}
		return out, true
	}
	var w strings.Builder
	if v, ok := have("xdpban / naive lookup program, miss (not banned, port 6619), 1M bans",
		"xdpban / naive lookup program, hit (banned, port 6619), 1M bans"); ok {
		fmt.Fprintf(&w, `
## Why a miss and a hit cost less than the naive lookup

At 1M bans a miss costs xdpban %s and a hit %s what the naive program
pays. A miss costs less because the counting filter answers "not banned"
with one byte load, without hashing the key. A hit whose ban its CPU
found within the last 10 ms (and that no write to the ban map has made
stale since) is answered by the per-CPU hit cache, an array lookup the
verifier inlines, without the naive program's hash-map lookup and
without calling a kernel function; the ban's counters are written once
per refill of the cache, not per packet, so they do not bounce between
CPUs when a flood arrives on several queues. The per-packet hits and the
single-source floods measure that path; random hits at 1M bans measure
the lookup and the cache fill.
`, v[0], v[1])
	}
	if v, ok := have("xdpban handles × nftables set, 100k banned sources (target ≥ 5×)",
		"xdpban receiver ns/pkt, 100k banned sources / 1 banned source",
		"xdpban receiver ns/pkt / naive lookup program's, 100k banned sources",
		"nftables receiver ns/pkt, 100k banned sources / 1 banned source"); ok {
		fmt.Fprintf(&w, `
## Why the botnet case is bound by one cold lookup on both sides

With a million bans and every packet from another of 100,000 banned
sources, xdpban handles %s what the nftables set does (target ≥ 5×).
xdpban's receive path costs %s its single-source hit, and the naive
program, one hash lookup in the same map and nothing else, costs nearly
as much (xdpban %s it): the packet waits for the cold cache lines and
page walks of one lookup in a map of a million entries. The nftables set
pays the same kind of wait (%s its own single source), so neither can be
5× the other; reaching that needs a structure that answers a random
source from fewer cold lines, not less work in the program.
`, v[0], v[1], v[2], v[3])
	}
	if v, ok := have("xdpban, 100k banned sources: receiver ns/pkt, 2 CPUs / 1",
		"nftables set, 100k banned sources: receiver ns/pkt, 2 CPUs / 1",
		"xdpban, 1 banned source: receiver ns/pkt, 2 CPUs / 1",
		"bare XDP_DROP, 100k sources: handled, 2 CPUs / 1",
		"xdpban, 100k banned sources: handled, 2 CPUs / 1",
		"nftables set, 100k banned sources: handled, 2 CPUs / 1"); ok {
		fmt.Fprintf(&w, `
## What one CPU against two shows on this rig

Two receiving CPUs (a 2-queue veth, each CPU generating its own queue's
frames) cost per packet %s what one does for xdpban, %s for nftables and
%s for xdpban's single source, whose ban both CPUs hit. Throughput
scaling needs CPUs the flood has to itself: the bare XDP_DROP, which
holds nothing two CPUs could contend for, went %s, so the handled ratios
(xdpban %s, nftables %s) say as much about the other work on the machine
as about either filter. Compare the receiver ns/pkt ratios.
`, v[0], v[1], v[2], v[3], v[4], v[5])
	}
	w.WriteString(handshakeTargets(byName))
	return w.String()
}

// handshakeTargets is the table of the handshake flood's targets for a
// known partner, with what the run measured at each number in flight.
func handshakeTargets(byName map[string]float64) string {
	var rows []string
	for _, n := range hsFloods {
		cond := fmt.Sprintf("RSA-2048, %d in flight", n)
		if v, ok := byName[cond+": new session median / no flood"]; ok {
			rows = append(rows, row(fmt.Sprintf("new session median ≤ 2× no flood, %d in flight", n), formatValue(v, "x"), v <= 2))
		}
		if v, ok := byName[cond+": partner sessions refused or failed"]; ok {
			rows = append(rows, row(fmt.Sprintf("no partner session refused, %d in flight", n), fmt.Sprintf("%.0f refused", v), v == 0))
		}
		if v, ok := byName[cond+": open session echo median / no flood"]; ok {
			rows = append(rows, row(fmt.Sprintf("open session's echo median ≤ 2× idle, %d in flight", n), formatValue(v, "x"), v <= 2))
		}
	}
	if len(rows) == 0 {
		return ""
	}
	return "\n## The handshake flood's targets\n\n" +
		"For a known partner while an attacker keeps failing mTLS handshakes in flight (RSA-2048; xdpban on CPU 0, attacker and partner on CPU 1). " +
		"A number in flight missing here did not complete in this run; its error is in the notes.\n\n" +
		"| target | this run | |\n|---|---|---|\n" + strings.Join(rows, "")
}

func row(target, got string, met bool) string {
	v := "not met"
	if met {
		v = "met"
	}
	return fmt.Sprintf("| %s | %s | %s |\n", target, got, v)
}
