package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// The README's Performance table lives between these markers; make bench
// and -plot replace what is between them and nothing else.
const (
	readmeBegin = "<!-- bench:begin -->"
	readmeEnd   = "<!-- bench:end -->"
	// earlierRun marks a row kept from the previous table because the
	// run (an -only subset) did not measure it.
	earlierRun = " (earlier run)"
)

// headline is one row of the README table: figure names in the results,
// so the row follows whatever the bench measured.
type headline struct {
	what        string
	xdpban, alt string // figures shown in the xdpban and alternative columns
	ratio       string // the ratio figure; "" when there is no alternative
	ratioSuffix string // how to read the ratio, such as "faster"
	target      string // the figure the target is on ("" = ratio, or xdpban without one)
	atMost      bool   // the target is an upper bound
	bound       float64
	boundText   string // "" = no target
	altLabel    string // names the alternative before its figure
}

var headlines = []headline{
	{what: "banned packet, per packet (1M bans)", xdpban: "hit (banned, port 6619), 1M bans / floor",
		alt: "naive lookup program, hit (banned, port 6619), 1M bans / floor", altLabel: "naive lookup program",
		ratio: "xdpban / naive lookup program, hit (banned, port 6619), 1M bans", ratioSuffix: " the naive cost", atMost: true, bound: 1.0, boundText: "≤ 1.0×"},
	{what: "unbanned packet, per packet (1M bans)", xdpban: "miss (not banned, port 6619), 1M bans / floor",
		alt: "naive lookup program, miss (not banned, port 6619), 1M bans / floor", altLabel: "naive lookup program",
		ratio: "xdpban / naive lookup program, miss (not banned, port 6619), 1M bans", ratioSuffix: " the naive cost"},
	{what: "SYN flood from a banned source, 10k bans, handled", xdpban: "xdpban XDP: handled",
		alt: "nftables netdev ingress, set: handled", altLabel: "nftables set", ratio: "XDP handles × nftables netdev ingress, set", ratioSuffix: " as many handled"},
	{what: "the same, against fail2ban's rule per ban", xdpban: "xdpban XDP: handled",
		alt: "iptables, a rule per ban (fail2ban iptables-multiport, 10k): handled", altLabel: "iptables",
		ratio: "XDP handles × iptables, a rule per ban (fail2ban iptables-multiport, 10k)", ratioSuffix: " as many handled"},
	{what: "the same, share of a bare XDP_DROP", xdpban: "xdpban XDP: handled",
		alt: "bare XDP_DROP (the limit): handled", altLabel: "bare XDP_DROP",
		ratio: "xdpban / bare XDP_DROP, 10k bans", ratioSuffix: " of its rate", boundText: "≥ 0.9×", bound: 0.9},
	{what: "the same, share of a bare XDP_DROP by the flood's own CPU time", xdpban: "xdpban XDP: own CPU",
		alt: "bare XDP_DROP (the limit): own CPU", altLabel: "bare XDP_DROP",
		ratio: "xdpban / bare XDP_DROP by CPU time, 10k bans", ratioSuffix: " of its rate", boundText: "≥ 0.9×", bound: 0.9},
	{what: "botnet: 1M bans, 100k banned sources, handled", xdpban: "xdpban, 100k banned sources: handled",
		alt: "nftables set, 100k banned sources: handled", altLabel: "nftables set",
		ratio: "xdpban handles × nftables set, 100k banned sources (target ≥ 5×)", ratioSuffix: " as many handled", boundText: "≥ 5×", bound: 5},
	{what: "botnet: 100k unbanned sources against one, receiver CPU", xdpban: "xdpban, 100k unbanned sources: receiver CPU",
		alt: "xdpban, 1 unbanned source (single-source miss): receiver CPU", altLabel: "one source",
		ratio: "xdpban receiver ns/pkt, 100k unbanned sources / single-source miss (target ≤ 1.5×)", ratioSuffix: " one source's cost", atMost: true, bound: 1.5, boundText: "≤ 1.5×"},
	{what: "ban latency, 3rd failure to ban in force (median)", xdpban: "xdpban (XDP map): median",
		alt: "fail2ban, backend=pyinotify: median", altLabel: "fail2ban",
		ratio: "fail2ban, backend=pyinotify median / xdpban median", ratioSuffix: " xdpban's time"},
	{what: "one ban as one process", xdpban: "xdpban ban (one process)",
		alt: "nft add element (one process)", altLabel: "nft", ratio: "nft add element (one process) / xdpban ban", ratioSuffix: " xdpban's time"},
	{what: "1M bans in bulk", xdpban: "1M bans into xdpban's map (BanBatch)",
		alt: "1M elements into an nftables set (one nft -f, 100k per add element)", altLabel: "nft -f",
		ratio: "nft -f / xdpban BanBatch, loading 1M", ratioSuffix: " xdpban's time",
		target: "1M bans into xdpban's map (BanBatch)", atMost: true, bound: 3, boundText: "< 3 s"},
	{what: "start after a reboot with 1M bans in the store", xdpban: "1M bans restored by a daemon start after a reboot (target <= 1 s)",
		atMost: true, bound: 1, boundText: "≤ 1 s"},
	{what: "userspace memory per ban in force", xdpban: "daemon heap per ban in force, 1M bans (target <= 64 B)",
		atMost: true, bound: 64, boundText: "≤ 64 B"},
	{what: "handshake flood: partner's new session, 256 in flight", xdpban: "RSA-2048, 256 in flight: new session median",
		alt: "RSA-2048, no flood: new session median", altLabel: "no flood",
		ratio: "RSA-2048, 256 in flight: new session median / no flood", ratioSuffix: " no flood's time", atMost: true, bound: 2, boundText: "≤ 2×"},
}

// readmeTable renders the headline rows from figs. A row whose figures
// the run lacks keeps its line from prev (the block now in the README),
// marked as from an earlier run, or says "not measured" when there is
// none: an -only run must not erase what it did not measure.
func readmeTable(m Machine, figs []Figure, prev string) string {
	byName := map[string]Figure{}
	for _, f := range figs {
		if _, dup := byName[f.Name]; !dup {
			byName[f.Name] = f
		}
	}
	old := map[string]string{}
	for _, line := range strings.Split(prev, "\n") {
		// A row no run measured is not kept as if one had.
		if cells := strings.Split(line, " | "); strings.HasPrefix(line, "| ") && len(cells) > 1 && cells[1] != "not measured" {
			old[strings.TrimSuffix(strings.TrimPrefix(cells[0], "| "), earlierRun)] = line
		}
	}
	show := func(name string) (string, bool) {
		f, ok := byName[name]
		if !ok || name == "" {
			return "—", false
		}
		return formatValue(f.Value, f.Unit), true
	}
	var w strings.Builder
	fmt.Fprintf(&w, "Run of %s: %d CPUs (%s), Linux %s.\n\n", m.Date, m.CPUs, m.CPUModel, m.Kernel)
	w.WriteString("| figure | xdpban | alternative | ratio | target |\n|---|---|---|---|---|\n")
	for _, h := range headlines {
		key := h.ratio
		if key == "" {
			key = h.xdpban
		}
		if _, ok := byName[key]; !ok {
			if line, ok := old[h.what]; ok {
				cells := strings.SplitN(line, " | ", 2)
				fmt.Fprintf(&w, "| %s%s | %s\n", cell(h.what), earlierRun, cells[1])
			} else {
				fmt.Fprintf(&w, "| %s | not measured | not measured | — | %s |\n", cell(h.what), orDash(h.boundText))
			}
			continue
		}
		x, _ := show(h.xdpban)
		alt, ok := show(h.alt)
		if ok && h.altLabel != "" {
			alt = h.altLabel + " " + alt
		}
		ratio, _ := show(h.ratio)
		if h.ratio != "" {
			ratio += h.ratioSuffix
		}
		fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", cell(h.what), cell(x), cell(alt), cell(ratio), verdict(h, byName))
	}
	return w.String()
}

// verdict says whether the row's figure meets its target.
func verdict(h headline, byName map[string]Figure) string {
	if h.boundText == "" {
		return "—"
	}
	name := h.target
	if name == "" {
		name = h.ratio
	}
	if name == "" {
		name = h.xdpban
	}
	f, ok := byName[name]
	if !ok {
		return h.boundText + ": not measured"
	}
	if (h.atMost && f.Value <= h.bound) || (!h.atMost && f.Value >= h.bound) {
		return h.boundText + ": met"
	}
	return h.boundText + ": not met"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// replaceBlock puts body between the markers of doc and leaves every
// byte outside them as it was. A README without exactly one pair of
// markers in order is an error, so a moved or deleted table is noticed
// rather than silently left stale.
func replaceBlock(doc []byte, body string) ([]byte, string, error) {
	b, e := bytes.Index(doc, []byte(readmeBegin)), bytes.Index(doc, []byte(readmeEnd))
	if b < 0 || e < 0 || e < b || bytes.Count(doc, []byte(readmeBegin)) != 1 || bytes.Count(doc, []byte(readmeEnd)) != 1 {
		return nil, "", fmt.Errorf("find the table: want one %s line before one %s line; put them where the table goes", readmeBegin, readmeEnd)
	}
	start := b + len(readmeBegin)
	prev := string(doc[start:e])
	var out bytes.Buffer
	out.Write(doc[:start])
	out.WriteString("\n")
	out.WriteString(body)
	out.Write(doc[e:])
	return out.Bytes(), prev, nil
}

// Readme rewrites the Performance table of readmePath from the JSON of a
// run. make bench runs it; -plot redraws it from older JSON.
func Readme(jsonPath, readmePath string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return fmt.Errorf("update %s: %w", readmePath, err)
	}
	var doc struct {
		Machine Machine  `json:"machine"`
		Figures []Figure `json:"figures"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("update %s: read %s: %w", readmePath, jsonPath, err)
	}
	old, err := os.ReadFile(readmePath)
	if err != nil {
		return fmt.Errorf("update %s: %w", readmePath, err)
	}
	_, prev, err := replaceBlock(old, "")
	if err != nil {
		return fmt.Errorf("update %s: %w", readmePath, err)
	}
	out, _, err := replaceBlock(old, readmeTable(doc.Machine, doc.Figures, prev))
	if err != nil {
		return fmt.Errorf("update %s: %w", readmePath, err)
	}
	return os.WriteFile(readmePath, out, 0o644)
}
