package xdp

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestGoMirrorsHeader keeps the constants Go mirrors by hand (bpf2go only
// generates types) equal to bpf/xdpban.h: the layout version that guards
// pinned maps, the ban filter's size and hash, and the indexes of the
// per-CPU counters.
func TestGoMirrorsHeader(t *testing.T) {
	h, err := os.ReadFile("../../bpf/xdpban.h")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define XDPBAN_LAYOUT_VERSION (\d+)`).FindSubmatch(h)
	if m == nil {
		t.Fatal("XDPBAN_LAYOUT_VERSION not found in bpf/xdpban.h")
	}
	if v, _ := strconv.Atoi(string(m[1])); v != layoutVersion {
		t.Errorf("bpf/xdpban.h has layout %d, Go has %d", v, layoutVersion)
	}
	slots := regexp.MustCompile(`#define XDPBAN_STATS_SLOTS (\d+)`).FindSubmatch(h)
	if slots == nil {
		t.Fatal("XDPBAN_STATS_SLOTS not found in bpf/xdpban.h")
	}
	if v, _ := strconv.Atoi(string(slots[1])); v != statsSlots {
		t.Errorf("bpf/xdpban.h has %d counter slots, Go has %d", v, statsSlots)
	}
	for name, goValue := range map[string]int{"XDPBAN_FILTER_BITS": filterBits, "XDPBAN_FILTER_SATURATED": filterSaturated, "XDPBAN_META_NO_RANGES": metaNoRanges} {
		m := regexp.MustCompile(`#define ` + name + ` (\d+)`).FindSubmatch(h)
		if m == nil {
			t.Fatalf("%s not found in bpf/xdpban.h", name)
		}
		if v, _ := strconv.Atoi(string(m[1])); v != goValue {
			t.Errorf("bpf/xdpban.h has %s %d, Go has %d", name, v, goValue)
		}
	}
	if !strings.Contains(string(h), "* 0x9E3779B1U) >> (32 - XDPBAN_FILTER_BITS)") {
		t.Error("filter_slot() in bpf/xdpban.h no longer hashes as filterSlotOf does")
	}
	enum := regexp.MustCompile(`(?s)enum stat_index \{(.*?)\};`).FindSubmatch(h)
	if enum == nil {
		t.Fatal("enum stat_index not found in bpf/xdpban.h")
	}
	names := regexp.MustCompile(`(STAT_[A-Z_]+)`).FindAllString(string(enum[1]), -1)
	want := []string{"STAT_PASSED", "STAT_DROPPED", "STAT_EXPIRED", "STAT_PARSE_FAIL", "STAT_MAX"}
	goIdx := []int{statPassed, statDropped, statExpired, statParseFail, len(xdpbanStats{}.Count)}
	if len(names) != len(want) {
		t.Fatalf("enum stat_index has %v, Go mirrors %v", names, want)
	}
	for i, n := range names {
		if n != want[i] || goIdx[i] != i {
			t.Errorf("counter %d: header %s, Go mirrors %s at %d", i, n, want[i], goIdx[i])
		}
	}
}
