package testutil

import (
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// Lab is two network namespaces joined by one veth pair: an attacker or
// partner side ("client") and a server side where XDP is attached.
// Addresses come from 198.18.0.0/15 and 2001:db8::/32 only.
type Lab struct {
	Client, Server     string // namespace names
	ClientIf, ServerIf string // veth ends, one in each namespace
	ClientV4, ServerV4 netip.Addr
	ClientV6, ServerV6 netip.Addr
	ClientAlt4         netip.Addr // a second client address, never banned by tests
}

// NewLab creates the namespaces and veth pair and removes them when the
// test ends. Deleting a namespace deletes its veth end, and with it the
// peer and any XDP link on them.
func NewLab(tb testing.TB) *Lab {
	tb.Helper()
	RequireRoot(tb)
	s := RandomSuffix()
	l := &Lab{
		Client: "xb-c-" + s, Server: "xb-s-" + s,
		ClientIf: "xbc" + s, ServerIf: "xbs" + s,
		ClientV4:   netip.MustParseAddr("198.18.0.2"),
		ClientAlt4: netip.MustParseAddr("198.18.0.3"),
		ServerV4:   netip.MustParseAddr("198.18.0.1"),
		ClientV6:   netip.MustParseAddr("2001:db8::2"),
		ServerV6:   netip.MustParseAddr("2001:db8::1"),
	}
	tb.Cleanup(func() {
		run(tb, false, "ip", "netns", "del", l.Client)
		run(tb, false, "ip", "netns", "del", l.Server)
	})
	run(tb, true, "ip", "netns", "add", l.Client)
	run(tb, true, "ip", "netns", "add", l.Server)
	l.AddVeth(tb, l.ServerIf, nil)
	return l
}

// AddVeth creates the veth pair with its addresses, the server end named
// serverIf; before that end is renamed (if it must be) and brought up,
// beforeUp runs with its name. Tests of a deleted and recreated interface
// call it again after DelVeth.
func (l *Lab) AddVeth(tb testing.TB, serverIf string, beforeUp func(ifname string)) {
	tb.Helper()
	run(tb, true, "ip", "link", "add", l.ClientIf, "netns", l.Client, "type", "veth", "peer", "name", serverIf, "netns", l.Server)
	if beforeUp != nil {
		beforeUp(serverIf)
	}
	if serverIf != l.ServerIf {
		run(tb, true, "ip", "netns", "exec", l.Server, "ip", "link", "set", serverIf, "name", l.ServerIf)
	}
	for _, c := range [][]string{
		{l.Client, "ip", "addr", "add", l.ClientV4.String() + "/24", "dev", l.ClientIf},
		{l.Client, "ip", "addr", "add", l.ClientAlt4.String() + "/24", "dev", l.ClientIf},
		{l.Client, "ip", "-6", "addr", "add", l.ClientV6.String() + "/64", "dev", l.ClientIf, "nodad"},
		{l.Client, "ip", "link", "set", l.ClientIf, "up"},
		{l.Client, "ip", "link", "set", "lo", "up"},
		{l.Server, "ip", "addr", "add", l.ServerV4.String() + "/24", "dev", l.ServerIf},
		{l.Server, "ip", "-6", "addr", "add", l.ServerV6.String() + "/64", "dev", l.ServerIf, "nodad"},
		{l.Server, "ip", "link", "set", l.ServerIf, "up"},
		{l.Server, "ip", "link", "set", "lo", "up"},
	} {
		run(tb, true, append([]string{"ip", "netns", "exec", c[0]}, c[1:]...)...)
	}
}

// DelVeth deletes the veth pair (the server end, and with it the client's).
func (l *Lab) DelVeth(tb testing.TB) {
	tb.Helper()
	run(tb, true, "ip", "netns", "exec", l.Server, "ip", "link", "del", l.ServerIf)
}

// AddClientV6 adds another IPv6 address to the client side (for /64 tests).
func (l *Lab) AddClientV6(tb testing.TB, a netip.Addr) {
	tb.Helper()
	run(tb, true, "ip", "netns", "exec", l.Client, "ip", "-6", "addr", "add", a.String()+"/64", "dev", l.ClientIf, "nodad")
}

// Do runs f with the calling goroutine's thread inside namespace ns. Sockets
// created in f belong to ns for their whole life.
func Do(tb testing.TB, ns string, f func()) {
	tb.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		tb.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		tb.Fatalf("open netns %s: %v", ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		tb.Fatalf("enter netns %s: %v", ns, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("cannot return to the original netns: %v", err))
		}
	}()
	f()
}

// Command returns a command that runs inside namespace ns without a new
// mount namespace (unlike `ip netns exec`, which remounts /sys and would
// hide /sys/fs/bpf), so pins stay where the test put them.
func Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + ns, "--", name}, args...)...)
}

func run(tb testing.TB, mustSucceed bool, args ...string) {
	tb.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil && mustSucceed {
		tb.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
