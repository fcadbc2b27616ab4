package xdp

import (
	"encoding/json"
	"net/netip"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBpftoolSeesNamedFields checks the promise that operators can inspect
// the pinned map with bpftool and see field names, i.e. that the object
// keeps its BTF and the map names match the pins.
func TestBpftoolSeesNamedFields(t *testing.T) {
	d := loadTest(t, Config{})
	if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.9.9/32"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bpftool", "-j", "map", "dump", "pinned", filepath.Join(d.PinDir(), "xdpban_bans")).Output()
	if err != nil {
		t.Fatalf("bpftool map dump: %v (is bpftool installed? make deps)", err)
	}
	var entries []struct {
		Formatted struct {
			Key   map[string]any `json:"key"`
			Value map[string]any `json:"value"`
		} `json:"formatted"`
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("bpftool output: %v\n%s", err, out)
	}
	if len(entries) != 1 {
		t.Fatalf("bpftool shows %d entries, want 1:\n%s", len(entries), out)
	}
	for _, field := range []string{"expires_ns", "packets", "bytes", "created_ns"} {
		if _, ok := entries[0].Formatted.Value[field]; !ok {
			t.Errorf("bpftool shows no field %q in the value:\n%s", field, out)
		}
	}
	if _, ok := entries[0].Formatted.Key["addr"]; !ok {
		t.Errorf("bpftool shows no field addr in the key:\n%s", out)
	}
	names, err := exec.Command("bpftool", "-j", "map", "show", "pinned", filepath.Join(d.PinDir(), "xdpban_stats")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Name string }
	if json.Unmarshal(names, &info); info.Name != "xdpban_stats" {
		t.Errorf("kernel map name %q, want the pin's name xdpban_stats", info.Name)
	}
}
