package control

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// TestPackRoundTrip: every field of an import's bans comes back as it
// went, for both families, ranges and a permanent ban; a record cut short
// or of an unknown family is refused, never read past.
func TestPackRoundTrip(t *testing.T) {
	start := time.Unix(1_800_000_000, 123456789)
	bans := []jail.Ban{
		{Prefix: netip.MustParsePrefix("198.18.0.2/32"), Start: start, End: start.Add(time.Hour), Origin: "imported", Count: 3},
		{Prefix: netip.MustParsePrefix("198.18.4.0/24"), Start: start, Origin: "fail2ban", Count: 1},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), End: start.Add(time.Minute), Count: 0},
		{Prefix: netip.MustParsePrefix("2001:db8::7/128"), Start: start, End: start.Add(2 * time.Hour), Origin: "manual", Count: 1 << 20},
	}
	p, err := PackBans(bans)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnpackBans(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(bans) {
		t.Fatalf("%d bans back of %d", len(got), len(bans))
	}
	for i := range bans {
		w, g := bans[i], got[i]
		if g.Prefix != w.Prefix || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.Start.IsZero() != w.Start.IsZero() ||
			g.End.IsZero() != w.End.IsZero() || g.Origin != w.Origin || g.Count != w.Count {
			t.Errorf("ban %d: got %+v, want %+v", i, g, w)
		}
	}
	for _, bad := range [][]byte{p[:len(p)-1], p[:packedFixed-1], append([]byte{5}, p[1:]...)} {
		if b, err := UnpackBans(bad); err == nil {
			t.Errorf("malformed input read as %d bans", len(b))
		}
	}
	if _, err := PackBans([]jail.Ban{{Prefix: bans[0].Prefix, Origin: jail.Origin(string(make([]byte, 256)))}}); err == nil {
		t.Error("an origin of 256 bytes was packed")
	}
	if got, err := UnpackBans(nil); err != nil || !reflect.DeepEqual(got, []jail.Ban(nil)) {
		t.Errorf("nothing unpacked as %v, %v", got, err)
	}
}
