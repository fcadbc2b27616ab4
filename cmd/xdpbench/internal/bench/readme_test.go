package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var readmeMachine = Machine{CPUs: 2, CPUModel: "test", Kernel: "6.18", Date: "2026-11-29"}

// readmeFixture is a run with the per-packet hit row, the botnet row and
// the restore row, and nothing else.
var readmeFixture = []Figure{
	{Name: "hit (banned, port 6619), 1M bans / floor", Value: 1.78, Unit: "x"},
	{Name: "naive lookup program, hit (banned, port 6619), 1M bans / floor", Value: 2.07, Unit: "x"},
	{Name: "xdpban / naive lookup program, hit (banned, port 6619), 1M bans", Value: 0.86, Unit: "x"},
	{Name: "xdpban, 100k banned sources: handled", Value: 399000, Unit: "pkt/s"},
	{Name: "nftables set, 100k banned sources: handled", Value: 478000, Unit: "pkt/s"},
	{Name: "xdpban handles × nftables set, 100k banned sources (target ≥ 5×)", Value: 0.8, Unit: "x"},
	{Name: "1M bans restored by a daemon start after a reboot (target <= 1 s)", Value: 0.9, Unit: "s"},
}

// TestReadmeTable: each measured row shows xdpban's figure, the
// alternative's, the ratio and whether the target is met; a row the run
// lacks keeps its previous line, marked, or says "not measured".
func TestReadmeTable(t *testing.T) {
	prev := "\n| figure | xdpban | alternative | ratio | target |\n|---|---|---|---|---|\n" +
		"| ban latency, 3rd failure to ban in force (median) | 19 µs | fail2ban 200 ms | 10,000× faster | — |\n"
	got := readmeTable(readmeMachine, readmeFixture, prev)
	for _, want := range []string{
		"| banned packet, per packet (1M bans) | 1.78× | naive lookup program 2.07× | 0.86× the naive cost | ≤ 1.0×: met |",
		"| botnet: 1M bans, 100k banned sources, handled | 399.0 kpps | nftables set 478.0 kpps | 0.80× as many handled | ≥ 5×: not met |",
		"| start after a reboot with 1M bans in the store | 0.900 s | — | — | ≤ 1 s: met |",
		"| ban latency, 3rd failure to ban in force (median) (earlier run) | 19 µs | fail2ban 200 ms | 10,000× faster | — |",
		"| userspace memory per ban in force | not measured | not measured | — | ≤ 64 B |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(got, "Run of 2026-11-29: 2 CPUs (test), Linux 6.18.\n") {
		t.Errorf("table does not say which run:\n%s", got)
	}
	if n := strings.Count(got, "\n| "); n != len(headlines)+1 {
		t.Errorf("table has %d lines, want a header, a rule and %d rows:\n%s", n, len(headlines), got)
	}
	// Kept twice, the mark is not doubled.
	again := readmeTable(readmeMachine, readmeFixture, got)
	if strings.Contains(again, earlierRun+earlierRun) || !strings.Contains(again, "(median) (earlier run) | 19 µs") {
		t.Errorf("a row kept again lost or doubled its mark:\n%s", again)
	}
}

// TestReadmeBlock: Readme rewrites only what is between the markers, and
// a README without them is an error that names the markers, left as it was.
func TestReadmeBlock(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Machine: readmeMachine, Figures: readmeFixture}
	js, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "README.md")
	if err := r.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	before, after := "# x\n\n## Performance\n\nSome words.\n\n", "\n\nReproduce: make bench.\n"
	if err := os.WriteFile(md, []byte(before+readmeBegin+"\nold table\n"+readmeEnd+after), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Readme(js, md); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	want := before + readmeBegin + "\n" + readmeTable(readmeMachine, readmeFixture, "") + readmeEnd + after
	if string(b) != want {
		t.Errorf("README:\n%s\nwant:\n%s", b, want)
	}
	// Run twice, the same file: the block does not grow.
	if err := Readme(js, md); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(md); string(b2) != want {
		t.Errorf("a second run changed the README:\n%s", b2)
	}

	for _, text := range []string{"no markers\n", readmeEnd + "\n" + readmeBegin + "\n", readmeBegin + readmeEnd + readmeBegin + readmeEnd} {
		if err := os.WriteFile(md, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Readme(js, md)
		if err == nil || !strings.Contains(err.Error(), readmeBegin) {
			t.Errorf("README %q: error %v, want one naming the markers", text, err)
		}
		if b, _ := os.ReadFile(md); string(b) != text {
			t.Errorf("README %q changed to %q", text, b)
		}
	}
}

// TestExplainFromRun: the explanations carry the run's numbers, and a
// paragraph whose figures the run lacks is left out.
func TestExplainFromRun(t *testing.T) {
	figs := []Figure{
		{Name: "xdpban / naive lookup program, miss (not banned, port 6619), 1M bans", Value: 0.61, Unit: "x"},
		{Name: "xdpban / naive lookup program, hit (banned, port 6619), 1M bans", Value: 0.8, Unit: "x"},
		{Name: "RSA-2048, 256 in flight: new session median / no flood", Value: 0.78, Unit: "x"},
		{Name: "RSA-2048, 1000 in flight: partner sessions refused or failed", Value: 2},
	}
	got := explain(figs)
	for _, want := range []string{"a miss costs xdpban 0.61× and a hit 0.80×",
		"| new session median ≤ 2× no flood, 256 in flight | 0.78× | met |",
		"| no partner session refused, 1000 in flight | 2 refused | not met |"} {
		if !strings.Contains(got, want) {
			t.Errorf("explanations lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "cold lookup") || strings.Contains(got, "one CPU against two") {
		t.Errorf("a paragraph without its figures:\n%s", got)
	}
	if explain(nil) != "" {
		t.Error("explanations from an empty run")
	}
}
