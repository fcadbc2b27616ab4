package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestReadBanLinesInParts: lines parsed on every CPU come back in file
// order, and a bad line far into a big input is named by its number.
func TestReadBanLinesInParts(t *testing.T) {
	const n = 30000 // over parallelFrom
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"address":"198.18.%d.%d","end":"2099-01-01T00:00:00Z","ban_count":%d,"origin":"pinned"}`+"\n", i/256%256, i%256, i+1)
		if i == 100 {
			b.WriteString("\r\n") // blank lines count as lines, and are skipped
		}
	}
	if b.Len() < parallelFrom {
		t.Fatalf("input of %d bytes is parsed in one part", b.Len())
	}
	bans, err := readBanLines("-", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(bans) != n {
		t.Fatalf("%d bans of %d", len(bans), n)
	}
	for i, ban := range bans {
		want := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i / 256 % 256), byte(i % 256)}), 32)
		if ban.Prefix != want || ban.Count != i+1 || ban.Origin != "imported" {
			t.Fatalf("ban %d: %+v, want %v count %d origin imported", i, ban, want, i+1)
		}
	}
	lines := strings.Split(b.String(), "\n")
	lines[25000] = `{"address":"198.18.0.1"}`
	_, err = readBanLines("-", strings.NewReader(strings.Join(lines, "\n")))
	if err == nil || !strings.Contains(err.Error(), "- line 25001: no end") {
		t.Errorf("bad line 25001: %v", err)
	}
}
