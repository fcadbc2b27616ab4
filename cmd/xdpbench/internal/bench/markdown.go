package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// docMethod is the part of docs/performance.md that does not change from
// run to run: how the figures are measured.
const docMethod = `How the figures are measured. Every comparison is a ratio of two
numbers measured in the same run on the same machine, never a threshold
from another day; the inputs of every ratio are in the JSON beside it.

- Per packet: the program runs on one frame through BPF_PROG_TEST_RUN a
  million times, timed around the syscall, against a bare XDP_PASS program
  (the floor) and a naive program that only looks the source up, in
  interleaved rounds. Random keys: 40k distinct sources, one run each.
- Flood: an in-kernel generator floods a veth into a namespace where
  xdpban, nftables (a set) and iptables (a rule per address, as fail2ban's
  iptables-multiport action writes them) each drop banned sources.
  "xdpban / bare XDP_DROP" is the share xdpban keeps of the limit, a
  program that drops every frame and does nothing else, in the same
  rounds (with 10k bans and with 1).
- Botnet (2b): a million bans in xdpban's map and in an nftables netdev
  set; the generator sends each frame from one of 100,000 banned sources
  picked at random, so caches and TLBs are cold, and the same floods from
  one source beside them. Innocent floods come from 100,000 unbanned
  sources and are addressed to another MAC, so IP discards what a filter
  passes and the figure is the filter's, not TCP's.
- Scale (2c): the banned botnet floods from one CPU and from two into a
  veth with two receive queues, where each sending CPU also receives.
- Ban latency: from the failure that completes maxretry to the ban being
  in force, for xdpban's listener, a watched log and stock fail2ban.
- Applying bans and restore: a million bans in bulk into the map, and a
  daemon start after a reboot with a million bans in its store
  (internal/daemon BenchmarkRestore1MAfterReboot), with its CPU time.
- Memory: the daemon's heap per ban in force and its resident size with
  a million bans, and the kernel memory (memlock, as bpftool shows it) of
  a map for a million bans holding none, 10k and 1M.

The machine is shared with other work while it runs: wall times there
are upper bounds; CPU times and ratios measured in the same rounds are
what to compare.

The naive program, the per-packet baseline, checks for IPv4, looks the
source up as the same 16-byte key in the same map and checks the expiry
with the coarse clock: no VLAN, IPv6, port check or counters. A flood at
full rate fills the veth's single receive ring, so those rows say more
about one veth queue than about xdpban. Why the headline figures are
what they are follows the tables; their history is in git.

What the botnet and scale ratios say, one sentence each:

- *xdpban handles × nftables set, 100k banned sources*: how many more
  banned packets per second xdpban drops than a set of the same million
  addresses when every packet comes from another source (target ≥ 5×).
- *receiver ns/pkt, nftables set / xdpban*: the same comparison in CPU
  time of the receive path alone, without the generator's share.
- *xdpban handles × nftables set, 1 banned source*: the same with warm
  caches, figure 2's comparison at a million bans.
- *xdpban / bare XDP_DROP, 100k banned sources*: the share of the limit
  xdpban keeps when the flood's sources are spread.
- *random hits on the wire*: the on-wire counterpart of figure 1's
  "random hits, 1M bans / floor", against a bare XDP_DROP's receive path.
- *xdpban receiver ns/pkt, 100k banned sources / 1 banned source*: what
  cold caches cost a hit, with the same program, map and frames.
- *xdpban / naive lookup program's*: whether that cost is xdpban's own
  work or the one hash-map lookup any program keeping a million bans
  must do (1× means the lookup).
- *naive lookup program's / nftables set's*: a bare lookup in the BPF
  hash map against nftables' set lookup, both with cold caches.
- *nftables receiver ns/pkt, 100k / 1 banned source*: what cold caches
  cost the nftables set.
- *xdpban receiver ns/pkt, 100k unbanned sources / single-source miss*:
  what cold caches cost a packet xdpban lets through (target ≤ 1.5×).
- *xdpban handled, single-source miss / 100k unbanned sources*: the same
  as a rate, generator included.
- *xdpban handles × nftables set, 100k unbanned sources*: what an
  innocent flood costs with each filter in front of the server.
- *xdpban receiver ns/pkt, 100k unbanned sources / bare XDP_PASS*: the
  cost of the filter over passing without one.
- *nft -f / xdpban BanBatch, loading 1M*: how much longer nftables takes
  to load the same million bans.
- *handled, 2 CPUs / 1*: how much more a receiver handles when a second
  CPU generates and receives too.
- *receiver ns/pkt, 2 CPUs / 1*: what a packet costs the receiver when
  two CPUs receive at once, against one (1× is perfect scaling, more is
  what the CPUs cost each other, such as a shared counter's cache line),
  whatever share of the CPUs other work left the flood.
- *scaling / the bare XDP_DROP's*: that against the rig's own scaling,
  so 1× means the receiver scales as well as a program doing nothing.
`

// Markdown writes docs/performance.md (mdPath) from the JSON of a run:
// the method, the machine, and every figure by group with the inputs of
// each ratio. make bench runs it; -plot redraws it from older JSON.
func Markdown(jsonPath, mdPath string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return fmt.Errorf("write %s: %w", mdPath, err)
	}
	var doc struct {
		Machine Machine  `json:"machine"`
		Figures []Figure `json:"figures"`
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("write %s: read %s: %w", mdPath, jsonPath, err)
	}
	var w strings.Builder
	m := doc.Machine
	fmt.Fprintf(&w, "# xdpban performance\n\n<!-- Generated by `make bench` from %s; edit cmd/xdpbench, not this file. -->\n\n", filepath.Base(jsonPath))
	w.WriteString(docMethod)
	fmt.Fprintf(&w, "\nThis run: %d CPUs (%s), Linux %s, %s, %s.\n", m.CPUs, m.CPUModel, m.Kernel, m.Go, m.Date)
	var groups []string
	for _, f := range doc.Figures {
		if len(groups) == 0 || groups[len(groups)-1] != f.Group {
			groups = append(groups, f.Group)
		}
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			continue
		}
		seen[g] = true
		fmt.Fprintf(&w, "\n## %s\n\n| figure | value | from |\n|---|---|---|\n", g)
		for _, f := range doc.Figures {
			if f.Group != g {
				continue
			}
			from := f.Note
			if f.Num != nil && f.Den != nil {
				from = fmt.Sprintf("%s %s / %s %s", formatValue(f.Num.Value, f.Num.Unit), f.Num.Name,
					formatValue(f.Den.Value, f.Den.Unit), f.Den.Name)
				if f.Note != "" {
					from += " (" + f.Note + ")"
				}
			}
			fmt.Fprintf(&w, "| %s | %s | %s |\n", cell(f.Name), formatValue(f.Value, f.Unit), cell(from))
		}
	}
	w.WriteString(explain(doc.Figures))
	w.WriteString(onTheWire(doc.Figures))
	if len(doc.Notes) > 0 {
		w.WriteString("\n## Notes\n\n")
		for _, n := range doc.Notes {
			fmt.Fprintf(&w, "- %s\n", n)
		}
	}
	if err := os.MkdirAll(filepath.Dir(mdPath), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", mdPath, err)
	}
	return os.WriteFile(mdPath, []byte(w.String()), 0o644)
}

// cell keeps a table cell on one line.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// onTheWire is the paragraph that says what figure 1's random hits
// become in figure 2b's floods, or nothing when a figure is missing.
func onTheWire(figs []Figure) string {
	val := func(name string) float64 {
		for _, f := range figs {
			if f.Name == name {
				return f.Value
			}
		}
		return 0
	}
	testRun := val("random hits, 1M bans / floor")
	wire := val(bnOnTheWire)
	hit, drop, one := val(bnXDPSpread+": receiver CPU"), val(bnDrop+": receiver CPU"), val(bnXDPOne+": receiver CPU")
	share := val("xdpban / bare XDP_DROP, 100k banned sources")
	if testRun == 0 || wire == 0 || hit == 0 || drop == 0 || one == 0 || share == 0 {
		return ""
	}
	return fmt.Sprintf("\n## Random hits on the wire\n\nRandom hits at 1M bans cost %s the floor in BPF_PROG_TEST_RUN; on the wire, "+
		"from 100k banned sources, they cost %s a bare XDP_DROP's receive path (medians %s against %s, %s with one source), "+
		"which leaves xdpban %s the bare drop's rate.\n",
		formatValue(testRun, "x"), formatValue(wire, "x"), formatValue(hit, "ns/pkt"), formatValue(drop, "ns/pkt"),
		formatValue(one, "ns/pkt"), formatValue(share, "x"))
}
