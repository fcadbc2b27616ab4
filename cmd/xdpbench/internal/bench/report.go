package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"
)

// Figure is one measured number. Ratios carry the two inputs they were
// computed from, so the JSON can be checked by hand.
type Figure struct {
	Group string  `json:"group"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// For ratios: Value = Num / Den.
	Num     *Input    `json:"numerator,omitempty"`
	Den     *Input    `json:"denominator,omitempty"`
	Note    string    `json:"note,omitempty"`
	Samples []float64 `json:"samples,omitempty"` // per round, when there are rounds
}

// Input names one measured value a ratio was computed from.
type Input struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Report collects figures and prints progress while they come in.
type Report struct {
	Figures []Figure
	Notes   []string
	Machine Machine
	out     io.Writer
	start   time.Time
}

// NewReport writes progress lines to out.
func NewReport(out io.Writer) *Report {
	return &Report{out: out, start: time.Now(), Machine: DescribeMachine()}
}

// Progress prints one line with the elapsed time.
func (r *Report) Progress(format string, args ...any) {
	fmt.Fprintf(r.out, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// Add records a figure and echoes it.
func (r *Report) Add(f Figure) {
	r.Figures = append(r.Figures, f)
	r.Progress("  %-48s %s", f.Group+": "+f.Name, formatValue(f.Value, f.Unit))
}

// Ratio records num/den as a figure named name.
func (r *Report) Ratio(group, name string, num, den Input, note string) {
	v := 0.0
	if den.Value != 0 {
		v = num.Value / den.Value
	}
	r.Add(Figure{Group: group, Name: name, Value: v, Unit: "x", Num: &num, Den: &den, Note: note})
}

// Note records a remark printed under the table and kept in the JSON.
func (r *Report) Note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, n)
	r.Progress("note: %s", n)
}

// Table prints every figure grouped, in the order they were added.
func (r *Report) Table(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nxdpban benchmarks — %s, %d CPUs (%s), Linux %s, %s\n", m.Host, m.CPUs, m.CPUModel, m.Kernel, m.Date)
	groups := []string{}
	seen := map[string]bool{}
	for _, f := range r.Figures {
		if !seen[f.Group] {
			seen[f.Group] = true
			groups = append(groups, f.Group)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range groups {
		fmt.Fprintf(tw, "\n%s\t\t\n", g)
		for _, f := range r.Figures {
			if f.Group == g {
				fmt.Fprintf(tw, "  %s\t%s\t\n", f.Name, formatValue(f.Value, f.Unit))
			}
		}
	}
	tw.Flush()
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// WriteJSON writes the figures to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	doc := struct {
		Machine Machine  `json:"machine"`
		Figures []Figure `json:"figures"`
		Notes   []string `json:"notes,omitempty"`
	}{r.Machine, r.Figures, r.Notes}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func formatValue(v float64, unit string) string {
	switch {
	case unit == "x":
		if v >= 100 {
			return fmt.Sprintf("%.0f×", v)
		}
		return fmt.Sprintf("%.2f×", v)
	case unit == "pkt/s" && v >= 1e6:
		return fmt.Sprintf("%.2f Mpps", v/1e6)
	case unit == "pkt/s" && v >= 1e3:
		return fmt.Sprintf("%.1f kpps", v/1e3)
	case unit == "s":
		return fmt.Sprintf("%.3f s", v)
	case unit == "ns/op" && v >= 1e9:
		return fmt.Sprintf("%.2f s/op", v/1e9)
	case unit == "ns/op" && v >= 1e6:
		return fmt.Sprintf("%.2f ms/op", v/1e6)
	case unit == "ns" && v >= 1e6:
		return fmt.Sprintf("%.2f ms", v/1e6)
	case unit == "ns" && v >= 1e4:
		return fmt.Sprintf("%.1f µs", v/1e3)
	}
	if v >= 100 || v == float64(int64(v)) {
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// median of xs; xs is left in its order.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs)) // callers keep their samples in round order
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
