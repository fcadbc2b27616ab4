package xdp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/xdpban/xdpban/internal/testutil"
)

// linkProgram is the program the pinned link of ifname runs now.
func linkProgram(t *testing.T, dir, ifname string) *ebpf.Program {
	t.Helper()
	l, err := link.LoadPinnedLink(linkPinPath(dir, ifname), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A reload that changes --ports swaps the program inside the link: the
// program the link runs drops a banned source on the new port and passes
// it on the old one, with the bans (exact and range, in either build)
// all still there, and the meta map tells status the new ports.
func TestSetPortsKeepsBans(t *testing.T) {
	lab := testutil.NewLab(t)
	dir := testutil.PinDir(t)
	dst := netip.MustParseAddr("198.18.0.1")
	exact := netip.MustParseAddr("198.18.1.9")
	inRange := netip.MustParseAddr("198.18.2.7")
	testutil.Do(t, lab.Server, func() {
		d, err := Load(Config{PinDir: dir, MaxBans: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Attach(lab.ServerIf, ModeAuto); err != nil {
			t.Fatal(err)
		}
		if err := d.BanMap().Ban(netip.PrefixFrom(exact, 32), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		verdicts := func(what string, src netip.Addr, drop, pass uint16) {
			t.Helper()
			prog := linkProgram(t, dir, lab.ServerIf)
			if v := run(t, prog, tcpTo(src, dst, drop).build()); v != xdpDrop {
				t.Errorf("%s: %v to port %d: verdict %d, want drop", what, src, drop, v)
			}
			if v := run(t, prog, tcpTo(src, dst, pass).build()); v != xdpPass {
				t.Errorf("%s: %v to port %d: verdict %d, want pass", what, src, pass, v)
			}
		}
		verdicts("before", exact, 6619, 443)
		if err := d.SetPorts(Ports{List: []uint16{443}}); err != nil {
			t.Fatal(err)
		}
		if got := attachedName(t, dir, lab.ServerIf); got != noRangesName {
			t.Errorf("without ranges the link runs %q after the swap, want %q", got, noRangesName)
		}
		verdicts("ports 443", exact, 443, 6619)
		if got := d.Ports().String(); got != "443" {
			t.Errorf("ports after the swap: %q, want 443", got)
		}
		ro, err := OpenPinned(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := ro.Ports().String(); got != "443" {
			t.Errorf("pinned meta says ports %q, want 443", got)
		}
		ro.Close()

		// With a range banned the full build runs; a swap keeps it.
		if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.2.0/24"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := d.SetPorts(Ports{List: []uint16{8443, 6619}}); err != nil {
			t.Fatal(err)
		}
		if got := attachedName(t, dir, lab.ServerIf); got != "xdpban" {
			t.Errorf("with a range the link runs %q after the swap, want xdpban", got)
		}
		verdicts("ports 6619,8443 exact", exact, 8443, 443)
		verdicts("ports 6619,8443 range", inRange, 6619, 443)
		if n, err := d.Count(); err != nil || n != 2 {
			t.Errorf("bans after two swaps: %d (%v), want 2 (one address, one range)", n, err)
		}
		if n, err := d.RangeCount(); err != nil || n != 1 {
			t.Errorf("range bans after two swaps: %d (%v), want 1", n, err)
		}
		// The range switch still works on the new builds.
		if err := d.BanMap().Unban(netip.MustParsePrefix("198.18.2.0/24")); err != nil {
			t.Fatal(err)
		}
		if got := attachedName(t, dir, lab.ServerIf); got != noRangesName {
			t.Errorf("after the last range the link runs %q, want %q", got, noRangesName)
		}
		verdicts("ports 6619,8443 after range switch", exact, 6619, 443)
	})
}
