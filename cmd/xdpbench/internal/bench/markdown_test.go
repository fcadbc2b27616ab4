package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMarkdownFromJSON: the Markdown holds every figure of the JSON by
// group, a ratio with its inputs, and the notes.
func TestMarkdownFromJSON(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Machine: Machine{CPUs: 2, CPUModel: "test", Kernel: "6.18", Date: "2026-11-28"}}
	r.Figures = []Figure{
		{Group: "1. per packet", Name: "hit", Value: 84, Unit: "ns/pkt"},
		{Group: "1. per packet", Name: "xdpban / naive, hit", Value: 0.86, Unit: "x",
			Num: &Input{Name: "xdpban hit", Value: 84, Unit: "ns/pkt"}, Den: &Input{Name: "naive hit", Value: 97.7, Unit: "ns/pkt"}},
		{Group: "7. memory", Name: "heap per ban | in force", Value: 47.1, Unit: "B"},
	}
	r.Notes = []string{"a note"}
	js, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "docs", "performance.md")
	if err := r.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(js, md); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## 1. per packet", "| hit | 84 ns/pkt |", "| xdpban / naive, hit | 0.86× | 84 ns/pkt xdpban hit / 97.7 ns/pkt naive hit |",
		"## 7. memory", `heap per ban \| in force`, "- a note", "2 CPUs (test)"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b)
		}
	}
}

// TestMarkdownOnTheWire: with figure 1's random hits and figure 2b's
// floods in the JSON, the Markdown says what the one becomes on the wire.
func TestMarkdownOnTheWire(t *testing.T) {
	figs := []Figure{
		{Name: "random hits, 1M bans / floor", Value: 8.2, Unit: "x"},
		{Name: bnOnTheWire, Value: 8.5, Unit: "x"},
		{Name: bnXDPSpread + ": receiver CPU", Value: 580, Unit: "ns/pkt"},
		{Name: bnDrop + ": receiver CPU", Value: 70, Unit: "ns/pkt"},
		{Name: bnXDPOne + ": receiver CPU", Value: 98, Unit: "ns/pkt"},
		{Name: "xdpban / bare XDP_DROP, 100k banned sources", Value: 0.18, Unit: "x"},
	}
	got := onTheWire(figs)
	for _, want := range []string{"8.20× the floor", "8.50× a bare XDP_DROP", "medians 580 ns/pkt against 70 ns/pkt", "98 ns/pkt with one source", "0.18× the bare drop"} {
		if !strings.Contains(got, want) {
			t.Errorf("paragraph lacks %q:\n%s", want, got)
		}
	}
	if onTheWire(figs[1:]) != "" {
		t.Error("a paragraph without figure 1's random hits")
	}
}
