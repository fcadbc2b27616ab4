package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/vishvananda/netlink"

	"github.com/xdpban/xdpban/internal/testutil"
)

// relinkLab is a daemon on the lab's server veth with one banned source,
// its metrics on the server namespace's loopback.
type relinkLab struct {
	*testutil.Lab
	n node
	d *daemonProc
}

const relinkMetrics = "127.0.0.1:19619"

func startRelinkLab(t *testing.T) *relinkLab {
	t.Helper()
	l := &relinkLab{Lab: testutil.NewLab(t), n: newNode(t)}
	serve(t, l.Lab, 6619)
	l.d = startDaemon(t, l.Lab, l.n, "--metrics", relinkMetrics)
	xdpban(t, append([]string{"ban", l.ClientV4.String(), "--duration", "1h"}, l.n.flags()...)...)
	l.wantEnforced(t, "at start")
	return l
}

// wantEnforced waits until the partner address gets through, then checks
// that the banned one is dropped, and that status and the metric say the
// program is attached.
func (l *relinkLab) wantEnforced(t *testing.T, when string) {
	t.Helper()
	waitUntil(t, when+": the partner address to get through", func() bool {
		return reach(t, l.Lab, l.ClientAlt4, l.ServerV4, 6619)
	})
	if reach(t, l.Lab, l.ClientV4, l.ServerV4, 6619) {
		t.Errorf("%s: the banned source got through", when)
	}
	r, code, err := statusCode(l.Lab, l.n)
	if err != nil || code != 0 || len(r.Interfaces) != 1 || !r.Interfaces[0].Attached {
		t.Errorf("%s: status exit %d, %v, interfaces %+v", when, code, err, r.Interfaces)
	}
	if got := l.attachedMetric(t); got != "1" {
		t.Errorf("%s: xdpban_xdp_attached = %s, want 1", when, got)
	}
}

// waitNotAttached waits until status exits 2 and the metric reads 0.
func (l *relinkLab) waitNotAttached(t *testing.T, when string) {
	t.Helper()
	waitUntil(t, when+": status exit 2", func() bool {
		r, code, err := statusCode(l.Lab, l.n)
		return err == nil && code == 2 && len(r.Interfaces) == 1 && !r.Interfaces[0].Attached
	})
	waitUntil(t, when+": xdpban_xdp_attached 0", func() bool { return l.attachedMetric(t) == "0" })
}

// attachedMetric is the value of xdpban_xdp_attached for the server veth.
func (l *relinkLab) attachedMetric(t *testing.T) string {
	t.Helper()
	series := `xdpban_xdp_attached{iface="` + l.ServerIf + `"} `
	for _, line := range strings.Split(scrape(t, l.Lab, relinkMetrics, "/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			return strings.TrimSpace(v)
		}
	}
	return "absent"
}

func (l *relinkLab) waitLog(t *testing.T, msg string) {
	t.Helper()
	waitUntil(t, "daemon log: "+msg, func() bool { return strings.Contains(l.d.stderr.String(), msg) })
}

// TestE2EReattachAfterInterfaceRecreated: deleting the interface takes
// the program with it; status exits 2, the metric falls to 0, the daemon
// says so. When an interface of that name is created again the daemon
// attaches again, and the banned source is dropped again.
func TestE2EReattachAfterInterfaceRecreated(t *testing.T) {
	l := startRelinkLab(t)
	l.DelVeth(t)
	l.waitNotAttached(t, "interface deleted")
	l.waitLog(t, "interface gone")

	l.AddVeth(t, l.ServerIf, nil)
	l.waitLog(t, "xdp attached again")
	l.wantEnforced(t, "interface created again")

	// Deleted and created again at once, as a driver reload does: the
	// daemon may never see it gone, and still attaches again and says so.
	l.DelVeth(t)
	l.AddVeth(t, l.ServerIf, nil)
	waitUntil(t, "a second xdp attached again", func() bool {
		return strings.Count(l.d.stderr.String(), "xdp attached again") == 2
	})
	l.wantEnforced(t, "interface deleted and created again at once")

	// Without a daemon, status reads the pinned link and still tells.
	l.d.kill(syscall.SIGTERM)
	l.DelVeth(t)
	r, code, err := statusCode(l.Lab, l.n)
	if err != nil || code != 2 || r.Daemon != nil || len(r.Interfaces) != 1 || r.Interfaces[0].Attached {
		t.Errorf("no daemon, interface gone: status exit %d, %v, %+v", code, err, r)
	}
}

// TestE2EReattachFailureIsVisible: the interface comes back with another
// XDP program already on it, so attaching fails: an error in the log,
// the metric at 0, status exit 2. Once that program is removed, the
// daemon's periodic check attaches again.
func TestE2EReattachFailureIsVisible(t *testing.T) {
	l := startRelinkLab(t)
	foreign, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2 /* XDP_PASS */), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	l.DelVeth(t)
	// Created under another name, the foreign program attached, then named
	// as --iface: the daemon cannot win the race to it.
	tmp := "xbt" + testutil.RandomSuffix()
	l.AddVeth(t, tmp, func(name string) { setXDP(t, l.Server, name, foreign.FD()) })
	l.waitLog(t, "xdp attach failed")
	l.waitNotAttached(t, "another program on the interface")
	// Not attached is real: the banned source gets through.
	waitUntil(t, "the banned source to get through the foreign program", func() bool {
		return reach(t, l.Lab, l.ClientV4, l.ServerV4, 6619)
	})

	setXDP(t, l.Server, l.ServerIf, -1)
	l.waitLog(t, "xdp attached again")
	l.wantEnforced(t, "foreign program removed")
}

// TestE2ERenamedInterfaceKeepsProtection: a rename keeps the ifindex, and
// the BPF link is bound to the ifindex: the renamed interface stays
// protected, status and the metric say so, and the daemon logs the rename.
func TestE2ERenamedInterfaceKeepsProtection(t *testing.T) {
	l := startRelinkLab(t)
	renamed := "xbr" + testutil.RandomSuffix()
	for _, c := range [][]string{
		{"ip", "link", "set", l.ServerIf, "down"},
		{"ip", "link", "set", l.ServerIf, "name", renamed},
		{"ip", "link", "set", renamed, "up"},
	} {
		if out, err := testutil.Command(l.Server, c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	l.waitLog(t, "interface renamed")
	l.wantEnforced(t, "interface renamed")
	r := mustStatus(t, l.Lab, l.n)
	if it := r.Interfaces[0]; it.Name != l.ServerIf || it.Current != renamed {
		t.Errorf("status shows %+v, want %s now called %s", it, l.ServerIf, renamed)
	}
}

// setXDP attaches the program fd to ifname in namespace ns without a BPF
// link, as `ip link set dev IF xdp` does; fd -1 removes it.
func setXDP(t *testing.T, ns, ifname string, fd int) {
	t.Helper()
	testutil.Do(t, ns, func() {
		link, err := netlink.LinkByName(ifname)
		if err == nil {
			err = netlink.LinkSetXdpFd(link, fd)
		}
		if err != nil {
			t.Fatalf("set xdp fd %d on %s: %v", fd, ifname, err)
		}
	})
}
