package xdp

import (
	"os"
	"strings"
	"testing"
)

// TestGoMirrorsHeader checks what bpf2go cannot generate: the filter's
// and the hit cache's hashes, which Go computes as countingFilter.slotOf
// and hitSlotOf, and that the counters' struct holds every index of enum
// stat_index. The constants themselves come from the object's BTF
// (xdpban_bpfel.go), so none may be a #define.
func TestGoMirrorsHeader(t *testing.T) {
	h, err := os.ReadFile("../../bpf/xdpban.h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(h), "* 0x9E3779B1U) >> shift;") {
		t.Error("filter_slot() in bpf/xdpban.h no longer hashes as countingFilter.slotOf does")
	}
	for _, line := range strings.Split(string(h), "\n") {
		if strings.HasPrefix(line, "#define XDPBAN_") {
			t.Errorf("bpf/xdpban.h: %q: a constant belongs in enum xdpban_const, which bpf2go generates for Go", line)
		}
	}
	if !strings.Contains(string(h), "* 0x85EBCA77U) >> (32 - XDPBAN_HIT_SLOT_BITS);") || 1<<hitSlotBits != hitSlots {
		t.Error("hit_slot() in bpf/xdpban.h no longer hashes as hitSlotOf does")
	}
	if n := len(xdpbanStats{}.Count); n != int(xdpbanStatIndexSTAT_MAX) {
		t.Errorf("struct stats holds %d counters, enum stat_index has %d", n, xdpbanStatIndexSTAT_MAX)
	}
}
