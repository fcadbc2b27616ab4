package xdp

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestReattachKeepsThePinUntilReplaced: the link of a deleted interface
// goes defunct; attaching to the interface created again fails while
// another program holds it, and the defunct pin stays, so status still
// lists the interface as not attached; once that program is gone,
// Reattach puts ours in force and replaces the pin.
func TestReattachKeepsThePinUntilReplaced(t *testing.T) {
	lab := testutil.NewLab(t)
	dir := testutil.PinDir(t)
	var d *Datapath
	inServer := func(f func()) { t.Helper(); testutil.Do(t, lab.Server, f) }
	inServer(func() {
		var err error
		if d, err = Load(Config{PinDir: dir}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Attach(lab.ServerIf, ModeAuto); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { d.Close() })
	wantIfaces := func(when string, attached bool) {
		t.Helper()
		var its []Interface
		var err error
		inServer(func() { its, err = Interfaces(dir) })
		if err != nil || len(its) != 1 || its[0].Name != lab.ServerIf || its[0].Attached != attached || its[0].Defunct == attached {
			t.Fatalf("%s: interfaces %+v, %v; want %s attached=%v", when, its, err, lab.ServerIf, attached)
		}
	}
	var s LinkState
	inServer(func() { s = d.LinkState(lab.ServerIf) })
	if !s.Enforcing() || s.Ifindex != s.Named || s.Current != lab.ServerIf {
		t.Fatalf("attached: %+v", s)
	}
	wantIfaces("attached", true)

	lab.DelVeth(t)
	inServer(func() { s = d.LinkState(lab.ServerIf) })
	if s.Enforcing() || s.Named != 0 {
		t.Fatalf("interface deleted: %+v", s)
	}
	wantIfaces("interface deleted", false)

	foreign, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	lab.AddVeth(t, lab.ServerIf, func(name string) { setXDPFd(t, lab.Server, name, foreign.FD()) })
	inServer(func() { _, err = d.Reattach(lab.ServerIf, ModeAuto) })
	if err == nil || !strings.Contains(err.Error(), "another XDP program is attached") {
		t.Fatalf("attach over a foreign program: %v", err)
	}
	wantIfaces("attach failed", false)

	setXDPFd(t, lab.Server, lab.ServerIf, -1)
	inServer(func() {
		if _, err = d.Reattach(lab.ServerIf, ModeAuto); err == nil {
			s = d.LinkState(lab.ServerIf)
		}
	})
	if err != nil || !s.Enforcing() || s.Ifindex != s.Named {
		t.Fatalf("attach again: %v, %+v", err, s)
	}
	wantIfaces("attached again", true)
}

// setXDPFd attaches fd to ifname in namespace ns through netlink, as `ip
// link set dev IF xdp` does; -1 removes it.
func setXDPFd(t *testing.T, ns, ifname string, fd int) {
	t.Helper()
	testutil.Do(t, ns, func() {
		l, err := netlink.LinkByName(ifname)
		if err == nil {
			err = netlink.LinkSetXdpFd(l, fd)
		}
		if err != nil {
			t.Fatalf("set xdp fd %d on %s: %v", fd, ifname, err)
		}
	})
}
