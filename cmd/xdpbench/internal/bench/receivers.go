package bench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/xdpban/xdpban/internal/xdp"
)

// floodBans is how many addresses every receiver has banned; the flood
// comes from banAddr(0), the oldest of them.
const floodBans = 10_000

// receiver is one way of dropping the flood on the server side. prog is
// the XDP program on s0: xdpban's, or for the others a bare XDP_PASS, as
// xdpban's veth has its program, so every receiver takes frames through
// the same native-XDP veth path. setup then installs the rest in a fresh
// pair and returns a counter of the packets it handled (dropped, rejected,
// or for "no filter" taken in by TCP).
type receiver struct {
	name  string
	prog  *ebpf.Program
	setup func(ctx context.Context, p *pair) (count func() (uint64, error), err error)
}

// Names of the receivers the flood's ratios are taken between.
const (
	recvXDP      = "xdpban XDP"
	recvXDP1     = "xdpban XDP, 1 ban"
	recvBareDrop = "bare XDP_DROP (the limit)"
)

func receivers(d, d1 *xdp.Datapath, pass, drop *ebpf.Program) []receiver {
	xdpban := func(d *xdp.Datapath) func(ctx context.Context, p *pair) (func() (uint64, error), error) {
		return func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			return func() (uint64, error) {
				c, err := d.Counters()
				return c.Dropped, err
			}, nil
		}
	}
	return []receiver{
		{recvXDP, d.Program(), xdpban(d)},
		{recvXDP1, d1.Program(), xdpban(d1)},
		// The limit: a program that drops every frame and does nothing
		// else, not even count. Every frame s0 receives runs it, so s0's
		// receive counter (veth counts each frame its XDP program saw)
		// is its drop count.
		{recvBareDrop, drop, func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			return func() (uint64, error) { return rxPackets(p.S, p.SIf) }, nil
		}},
		{"nftables netdev ingress, set", pass, func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			if err := sh(ctx, p.S, nftRuleset(p.SIf), "nft", "-f", "-"); err != nil {
				return nil, err
			}
			return func() (uint64, error) {
				return firstCount(ctx, p.S, `packets (\d+)`, "nft", "list", "counter", "netdev", "xdpbench", "hits")
			}, nil
		}},
		{"iptables raw PREROUTING", pass, func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			rules := fmt.Sprintf("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -s %s/32 -p tcp -m tcp --dport 6619 -j DROP\nCOMMIT\n", banAddr(0))
			if err := sh(ctx, p.S, []byte(rules), "iptables-restore"); err != nil {
				return nil, err
			}
			return func() (uint64, error) {
				return firstCount(ctx, p.S, `(?m)^\s*(\d+)\s+\d+\s+DROP`, "iptables", "-t", "raw", "-nvxL", "PREROUTING")
			}, nil
		}},
		{"iptables, a rule per ban (fail2ban iptables-multiport, 10k)", pass, func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			if err := sh(ctx, p.S, f2bRuleset(), "iptables-restore"); err != nil {
				return nil, err
			}
			return func() (uint64, error) {
				return firstCount(ctx, p.S, `(?m)^\s*(\d+)\s+\d+\s+f2b-xdpban`, "iptables", "-nvxL", "INPUT")
			}, nil
		}},
		{"no filter (packets reach TCP)", pass, func(ctx context.Context, p *pair) (func() (uint64, error), error) {
			return func() (uint64, error) { return tcpInSegs(p.S) }, nil
		}},
	}
}

// attachXDP attaches prog to s0 in native mode.
func attachXDP(p *pair, prog *ebpf.Program) error {
	return p.attach(func() (link.Link, error) {
		return link.AttachXDP(link.XDPOptions{Program: prog, Interface: p.SIdx, Flags: link.XDPDriverMode})
	})
}

func nftRuleset(dev string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "table netdev xdpbench {\n  counter hits { }\n  set banned {\n    type ipv4_addr\n    elements = { ")
	for i := range floodBans {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(banAddr(i).String())
	}
	fmt.Fprintf(&b, " }\n  }\n  chain ingress {\n    type filter hook ingress device %q priority -500; policy accept;\n", dev)
	b.WriteString("    ip saddr @banned tcp dport 6619 counter name \"hits\" drop\n  }\n}\n")
	return []byte(b.String())
}

// f2bRuleset lays out bans the way fail2ban's iptables-multiport action
// does: INPUT jumps to f2b-<jail> for the protected ports, and each ban is
// inserted at the top of that chain (`iptables -I f2b-<jail> 1 -s IP -j
// REJECT`), so the oldest ban, the flooding address, is the last rule.
func f2bRuleset() []byte {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:f2b-xdpban - [0:0]\n")
	b.WriteString("-A INPUT -p tcp -m multiport --dports 6619 -j f2b-xdpban\n")
	for i := floodBans - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "-A f2b-xdpban -s %s/32 -j REJECT --reject-with icmp-port-unreachable\n", banAddr(i))
	}
	b.WriteString("-A f2b-xdpban -j RETURN\nCOMMIT\n")
	return []byte(b.String())
}

// rxPackets reads the receive counter of interface name in namespace ns.
func rxPackets(ns, name string) (uint64, error) {
	var n uint64
	err := inNS(ns, func() error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("read counters of %s: %w", name, err)
		}
		if l.Attrs().Statistics == nil {
			return fmt.Errorf("read counters of %s: the kernel sent none", name)
		}
		n = l.Attrs().Statistics.RxPackets
		return nil
	})
	return n, err
}

func firstCount(ctx context.Context, ns, pattern string, args ...string) (uint64, error) {
	out, err := shOut(ctx, ns, nil, args...)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s: no counter in output:\n%s", strings.Join(args, " "), out)
	}
	return strconv.ParseUint(m[1], 10, 64)
}

// tcpInSegs reads Tcp InSegs of namespace ns from /proc/thread-self, which
// follows the reading thread's namespace (/proc/self/net would not).
func tcpInSegs(ns string) (uint64, error) {
	var n uint64
	err := inNS(ns, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		var head []string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "Tcp:" {
				continue
			}
			if head == nil {
				head = f
				continue
			}
			for i, h := range head {
				if h == "InSegs" && i < len(f) {
					n, err = strconv.ParseUint(f[i], 10, 64)
					return err
				}
			}
		}
		return fmt.Errorf("no Tcp InSegs in /proc/net/snmp")
	})
	return n, err
}
