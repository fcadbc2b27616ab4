package xdp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// attachedName is the kernel name of the program in the pinned link of
// ifname.
func attachedName(t *testing.T, dir, ifname string) string {
	t.Helper()
	p := linkProgram(t, dir, ifname)
	pi, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	return pi.Name
}

// The link runs the build without range support while no range is
// banned, the full build from before the first range goes in until the
// last is gone (unban or sweep), and the full build after the daemon
// closes, so a range banned without the daemon is enforced. A build left
// without range support (a daemon that crashed) makes a range ban made
// without the daemon fail with one line, never silently unenforced.
func TestRangeBuildSwitch(t *testing.T) {
	lab := testutil.NewLab(t)
	dir := testutil.PinDir(t)
	r := netip.MustParsePrefix("198.18.0.0/24")
	testutil.Do(t, lab.Server, func() {
		d, err := Load(Config{PinDir: dir, MaxBans: 16})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Attach(lab.ServerIf, ModeAuto); err != nil {
			t.Fatal(err)
		}
		step := func(what, want string) {
			t.Helper()
			if got := attachedName(t, dir, lab.ServerIf); got != want {
				t.Errorf("%s: the link runs %q, want %q", what, got, want)
			}
		}
		step("no range", noRangesName)
		if err := d.BanMap().Ban(r, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		step("one range", "xdpban")
		if v := run(t, d.ActiveProgram(), tcpTo(netip.MustParseAddr("198.18.0.7"), server4, 6619).build()); v != xdpDrop {
			t.Errorf("range through the active build: verdict %d, want drop", v)
		}
		if err := d.BanMap().Unban(r); err != nil {
			t.Fatal(err)
		}
		step("range unbanned", noRangesName)
		if err := d.BanMap().Ban(r, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := d.BanMap().Sweep(); err != nil {
			t.Fatal(err)
		}
		step("ended range swept", noRangesName)

		// A daemon that dies leaves the build without ranges in the link:
		// simulate it by dropping the Datapath's handles without Close.
		d.ranges.switchProg = nil
		for _, l := range d.links {
			l.Close()
		}
		d.links = nil
		d.lock.Close()
		d.lock = nil
		m, err := OpenDirect(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.BanMap().Ban(r, time.Time{}); !errors.Is(err, errNoRangeProgram) {
			t.Errorf("range ban without the daemon over the build without ranges: %v, want the hint to start xdpban run", err)
		}
		if n, _ := m.RangeCount(); n != 0 {
			t.Errorf("refused range ban left a count of %d", n)
		}
		m.Close()
		d.Close()

		// A daemon that stops cleanly leaves the full build.
		d, err = Load(Config{PinDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Attach(lab.ServerIf, ModeAuto); err != nil {
			t.Fatal(err)
		}
		step("restarted, no range", noRangesName)
		d.Close()
		step("after a clean stop", "xdpban")
		if m, err = OpenDirect(dir); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.BanMap().Ban(r, time.Time{}); err != nil {
			t.Errorf("range ban without the daemon after a clean stop: %v", err)
		}
	})
}
