package xdp

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

func rangeCount(t *testing.T, m *Maps) uint32 {
	t.Helper()
	n, err := m.RangeCount()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustBan(t *testing.T, m *Maps, s string, in time.Duration) {
	t.Helper()
	p, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	var until time.Time
	if in != 0 {
		until = time.Now().Add(in)
	}
	if err := m.BanMap().Ban(p, until); err != nil {
		t.Fatalf("ban %s: %v", s, err)
	}
}

// An ended ban, exact or range, does not hide a wider range that holds:
// the program deletes what ended and looks again.
func TestRangeBehindEndedBans(t *testing.T) {
	for name, bans := range map[string][]string{
		"ended exact ban inside a range":   {"198.18.5.5", "198.18.0.0/16"},
		"ended range inside a range":       {"198.18.5.0/24", "198.18.0.0/16"},
		"two ended ranges inside a range":  {"198.18.5.0/24", "198.18.4.0/23", "198.18.0.0/16"},
		"ended v6 range inside a v6 range": {"2001:db8:1:2::/64", "2001:db8::/32"},
	} {
		t.Run(name, func(t *testing.T) {
			d := loadTest(t, Config{})
			for i, b := range bans {
				in := -time.Second // all but the last have ended
				if i == len(bans)-1 {
					in = time.Hour
				}
				mustBan(t, d.Maps, b, in)
			}
			src := banned4
			if netip.MustParsePrefix(bans[len(bans)-1]).Addr().Is6() {
				src = banned6
			}
			before := counters(t, d.Maps)
			if v := run(t, d.prog, tcpTo(src, server4, 6619).build()); v != xdpDrop {
				t.Fatalf("verdict %d, want drop", v)
			}
			if got := sub(counters(t, d.Maps), before); got.Expired != uint64(len(bans)-1) || got.Dropped != 1 {
				t.Errorf("counters %+v, want %d expired hits and one drop", got, len(bans)-1)
			}
			left, err := d.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 1 || left[0].Prefix.String() != bans[len(bans)-1] || left[0].Packets != 1 {
				t.Errorf("left in the maps: %+v, want only the live range with one packet", left)
			}
			if n := rangeCount(t, d.Maps); n != 1 {
				t.Errorf("range count %d after the program deleted the ended ones, want 1", n)
			}
		})
	}
}

// A range inside a range in force is a range of its own: a trie lookup
// of its key finds the wider one, which must not pass for it. Banning it
// again moves its own end only, and a sweep takes it when it ends.
func TestRangeInsideARange(t *testing.T) {
	d := loadTest(t, Config{})
	mustBan(t, d.Maps, "198.18.0.0/16", time.Hour)
	mustBan(t, d.Maps, "2001:db8::/32", time.Hour)
	for _, inner := range []string{"198.18.5.0/24", "2001:db8:1::/48"} {
		mustBan(t, d.Maps, inner, time.Minute)
		mustBan(t, d.Maps, inner, 2*time.Minute)
	}
	ends := func() map[string]time.Duration {
		t.Helper()
		bans, err := d.List()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Duration{}
		for _, b := range bans {
			out[b.Prefix.String()] = time.Until(b.Until).Round(time.Minute)
		}
		return out
	}
	want := map[string]time.Duration{"198.18.0.0/16": time.Hour, "198.18.5.0/24": 2 * time.Minute,
		"2001:db8::/32": time.Hour, "2001:db8:1::/48": 2 * time.Minute}
	if got := ends(); !maps.Equal(got, want) {
		t.Fatalf("bans %v, want %v", got, want)
	}
	if n := rangeCount(t, d.Maps); n != 4 {
		t.Errorf("range count %d, want 4", n)
	}
	mustBan(t, d.Maps, "198.18.5.0/24", -time.Second)
	if n, _, err := d.BanMap().Sweep(); err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want the ended /24", n, err)
	}
	delete(want, "198.18.5.0/24")
	if got := ends(); !maps.Equal(got, want) {
		t.Fatalf("bans after the sweep %v, want %v", got, want)
	}
}

// The range trie holds maxRanges ranges (bpf/xdpban.h): one more fails
// with ErrFull and a hint, and takes nothing away.
func TestRangeTrieFull(t *testing.T) {
	d := loadTest(t, Config{})
	until := time.Now().Add(time.Hour)
	for i := range maxRanges { // 2001:db8:i::/48: as many as there are
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)})
		if err := d.BanMap().Ban(netip.PrefixFrom(a, 48), until); err != nil {
			t.Fatalf("range %d of %d: %v", i+1, maxRanges, err)
		}
	}
	err := d.BanMap().Ban(netip.MustParsePrefix("2001:db8::/33"), until)
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), fmt.Sprintf("%d ranges; unban some", maxRanges)) {
		t.Fatalf("one range more than the trie holds: %v, want ErrFull with its capacity", err)
	}
	if n := rangeCount(t, d.Maps); n != maxRanges {
		t.Errorf("range count %d, want %d", n, maxRanges)
	}
}

func TestRangeLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.PinDir(t)
	d, err := Load(Config{PinDir: dir, MaxBans: 64})
	if err != nil {
		t.Fatal(err)
	}
	r24 := netip.MustParsePrefix("198.51.100.0/24")
	r48 := netip.MustParsePrefix("2001:db8:5::/48")
	mustBan(t, d.Maps, r24.String(), time.Hour)
	mustBan(t, d.Maps, r48.String(), 0)
	mustBan(t, d.Maps, "198.51.100.7", time.Hour) // an address inside is its own ban
	// A re-ban changes the end only.
	mustBan(t, d.Maps, r24.String(), 2*time.Hour)
	if n := rangeCount(t, d.Maps); n != 2 {
		t.Fatalf("range count %d, want 2", n)
	}
	if n, err := d.Count(); err != nil || n != 3 {
		t.Fatalf("count %d (%v), want 3", n, err)
	}
	for _, bad := range []string{"10.0.0.0/7", "2000::/8", "::/0", "0.0.0.0/0", "::/16", "::ffff:0:0/80"} {
		if err := d.BanMap().Ban(netip.MustParsePrefix(bad), time.Time{}); err == nil {
			t.Errorf("ban %s accepted", bad)
		}
	}
	d.Close()

	// The pins keep the ranges for commands without the daemon and for the
	// next start.
	m, err := OpenPinned(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	bans, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.Prefix]Ban{}
	for _, b := range bans {
		got[b.Prefix] = b
	}
	if b, ok := got[r24]; !ok || b.Remaining(time.Now()) < 119*time.Minute {
		t.Errorf("read-only list: %+v, want %s with about 2h left", bans, r24)
	}
	if b, ok := got[r48]; !ok || !b.Permanent() {
		t.Errorf("read-only list: %+v, want %s permanent", bans, r48)
	}
	if err := m.BanMap().Unban(r24); err == nil {
		t.Error("unban of a range through a read-only handle succeeded")
	}
	m.Close()

	d, err = Load(Config{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v := run(t, d.Program(), tcpTo(netip.MustParseAddr("198.51.100.200"), server4, 6619).build()); v != xdpDrop {
		t.Errorf("range banned before the restart: verdict %d, want drop", v)
	}
	if err := d.BanMap().Unban(r24); err != nil {
		t.Fatal(err)
	}
	if err := d.BanMap().Unban(r24); !errors.Is(err, ErrNotBanned) {
		t.Errorf("second unban: %v, want ErrNotBanned", err)
	}
	if v := run(t, d.Program(), tcpTo(netip.MustParseAddr("198.51.100.200"), server4, 6619).build()); v != xdpPass {
		t.Errorf("after the unban: verdict %d, want pass", v)
	}
	if n := rangeCount(t, d.Maps); n != 1 {
		t.Errorf("range count after the unban %d, want 1", n)
	}
	// The sweep removes ended ranges and counts them out.
	mustBan(t, d.Maps, "198.18.9.0/24", -time.Second)
	removed, _, err := d.BanMap().Sweep()
	if err != nil || removed != 1 {
		t.Errorf("sweep removed %d (%v), want the ended range", removed, err)
	}
	if n := rangeCount(t, d.Maps); n != 1 {
		t.Errorf("range count after the sweep %d, want 1", n)
	}
	// A batch (the restore path) takes ranges too.
	if _, err := d.BanMap().BanBatch([]BanSpec{{Prefix: netip.MustParsePrefix("198.18.10.0/24")}, {Prefix: netip.MustParsePrefix("198.18.11.1/32")}}); err != nil {
		t.Fatal(err)
	}
	if v := run(t, d.Program(), tcpTo(netip.MustParseAddr("198.18.10.9"), server4, 6619).build()); v != xdpDrop {
		t.Errorf("range from a batch: verdict %d, want drop", v)
	}
}

// Pins of an xdpban from before range bans have no range maps: commands
// read them as "no range banned", and the next start adds the maps.
func TestPinsWithoutRangeMaps(t *testing.T) {
	dir := olderPins(t, xdpbanMapXdpbanRanges, rangeCountPin)
	m, err := OpenPinned(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if bans, err := m.List(); err != nil || len(bans) != 1 {
		t.Errorf("list on old pins: %v %v", bans, err)
	}
	if err := m.BanMap().Ban(netip.MustParsePrefix("198.18.9.0/24"), time.Time{}); !errors.Is(err, errNoRanges) {
		t.Errorf("range ban on old pins: %v, want the hint to start xdpban run", err)
	}
	m.Close()
	d, err := Load(Config{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mustBan(t, d.Maps, "198.18.9.0/24", time.Hour)
	if bans, err := d.List(); err != nil || len(bans) != 2 {
		t.Errorf("after the start: %v %v", bans, err)
	}
}

// The baseline make bench compares against ignores ranges; the real
// program does not.
func TestProgramWithoutRanges(t *testing.T) {
	d := loadTest(t, Config{})
	base, err := d.ProgramWithoutRanges()
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	mustBan(t, d.Maps, "198.18.5.0/24", time.Hour)
	mustBan(t, d.Maps, "198.18.6.6", time.Hour)
	if v := run(t, base, tcpTo(banned4, server4, 6619).build()); v != xdpPass {
		t.Errorf("baseline on a banned range: %d, want pass", v)
	}
	if v := run(t, base, tcpTo(netip.MustParseAddr("198.18.6.6"), server4, 6619).build()); v != xdpDrop {
		t.Errorf("baseline on a banned address: %d, want drop", v)
	}
	if v := run(t, d.prog, tcpTo(banned4, server4, 6619).build()); v != xdpDrop {
		t.Errorf("program on a banned range: %d, want drop", v)
	}
}

// An IPv6 range over the IPv4-mapped space would ban every IPv4 source
// in it (IPv4 is keyed ::ffff:a.b.c.d): refused, and IPv4 passes.
func TestIPv6RangeNeverBansIPv4(t *testing.T) {
	d := loadTest(t, Config{})
	for _, r := range []string{"::/16", "::ffff:0:0/95"} {
		if err := d.BanMap().Ban(netip.MustParsePrefix(r), time.Time{}); err == nil {
			t.Errorf("ban %s accepted", r)
		}
	}
	if v := run(t, d.prog, tcpTo(banned4, server4, 6619).build()); v != xdpPass {
		t.Errorf("IPv4 source after refused IPv6 ranges: verdict %d, want pass", v)
	}
	if n := rangeCount(t, d.Maps); n != 0 {
		t.Errorf("range count %d after refused bans", n)
	}
}

// olderPins leaves pins as an xdpban that predates the maps named would:
// a daemon's pins holding a ban of 198.18.7.7, without those maps.
func olderPins(t *testing.T, names ...string) string {
	t.Helper()
	testutil.RequireRoot(t)
	dir := testutil.PinDir(t)
	d, err := Load(Config{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	mustBan(t, d.Maps, "198.18.7.7", time.Hour)
	d.Close()
	for _, name := range names {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
