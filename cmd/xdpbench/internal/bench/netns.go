package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netns"
	"github.com/xdpban/xdpban/internal/lab"
)

// pair is two network namespaces joined by one veth: the attacker side
// a0 and the server side s0. Deleting the namespaces removes the veth,
// every XDP program, tc filter and netfilter rule on them.
type pair struct {
	A, S       string // namespace names
	AIf, SIf   string
	AIdx, SIdx int
	AMAC, SMAC net.HardwareAddr
	links      []link.Link
	closed     bool
}

// newPair creates the namespaces with 198.18.0.0/15 on the server side,
// a permanent neighbour entry for src (so replies need no ARP), and a tcx
// egress program on s0 that drops every reply: a flood must not come back.
func newPair(ctx context.Context, src string) (*pair, error) {
	return newPairQueues(ctx, src, 1)
}

// newPairQueues is newPair with a veth of queues receive and transmit
// queues on each side.
func newPairQueues(ctx context.Context, src string, queues int) (*pair, error) {
	p, err := createPairQueues(ctx, queues, func(p *pair) [][]string {
		return [][]string{
			{"ip", "-n", p.S, "addr", "add", "198.18.0.1/15", "dev", p.SIf},
			{"ip", "-n", p.S, "neigh", "replace", src, "lladdr", p.AMAC.String(), "dev", p.SIf, "nud", "permanent"},
		}
	})
	if err != nil {
		return nil, err
	}
	if err := p.dropEgress(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// createPair creates two fresh namespaces joined by a veth, both ends and
// both loopbacks up, then runs the commands setup returns for them
// (addresses, routes, neighbours). On error it deletes what it made.
func createPair(ctx context.Context, setup func(p *pair) [][]string) (*pair, error) {
	return createPairQueues(ctx, 1, setup)
}

// createPairQueues is createPair with queues receive and transmit queues
// on each end of the veth.
func createPairQueues(ctx context.Context, queues int, setup func(p *pair) [][]string) (*pair, error) {
	q := strconv.Itoa(queues)
	s := lab.RandomSuffix()
	p := &pair{A: namePrefix + "a-" + s, S: namePrefix + "s-" + s, AIf: "a0", SIf: "s0", AMAC: benchMAC1, SMAC: benchMAC2}
	if err := sh(ctx, "", nil, "ip", "netns", "add", p.A); err != nil {
		return nil, err
	}
	cmds := [][]string{
		{"ip", "netns", "add", p.S},
		{"ip", "link", "add", p.AIf, "netns", p.A, "address", p.AMAC.String(), "numtxqueues", q, "numrxqueues", q,
			"type", "veth", "peer", "name", p.SIf, "netns", p.S, "address", p.SMAC.String(), "numtxqueues", q, "numrxqueues", q},
	}
	for _, side := range [][2]string{{p.A, p.AIf}, {p.S, p.SIf}} {
		cmds = append(cmds,
			[]string{"ip", "-n", side[0], "link", "set", side[1], "up"},
			[]string{"ip", "-n", side[0], "link", "set", "lo", "up"})
	}
	for _, c := range append(cmds, setup(p)...) {
		if err := sh(ctx, "", nil, c...); err != nil {
			p.Close()
			return nil, err
		}
	}
	var err error
	if p.AIdx, err = ifindex(p.A, p.AIf); err == nil {
		p.SIdx, err = ifindex(p.S, p.SIf)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// dropEgress attaches a tcx egress program to s0 that drops every reply.
func (p *pair) dropEgress() error {
	prog, err := tcDropProgram()
	if err != nil {
		return err
	}
	defer prog.Close() // the link holds its own reference
	return p.attach(func() (link.Link, error) {
		return link.AttachTCX(link.TCXOptions{Program: prog, Attach: ebpf.AttachTCXEgress, Interface: p.SIdx})
	})
}

// attach runs f inside the server namespace (the kernel resolves s0's
// ifindex there) and keeps the link it returns until Close: closing a
// link detaches its program.
func (p *pair) attach(f func() (link.Link, error)) error {
	return inNS(p.S, func() error {
		l, err := f()
		if err != nil {
			return fmt.Errorf("attach to %s: %w", p.SIf, err)
		}
		p.links = append(p.links, l)
		return nil
	})
}

// Close deletes both namespaces.
func (p *pair) Close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, l := range p.links {
		l.Close()
	}
	exec.Command("ip", "netns", "del", p.A).Run()
	exec.Command("ip", "netns", "del", p.S).Run()
}

func ifindex(ns, name string) (int, error) {
	var idx int
	err := inNS(ns, func() error {
		i, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		idx = i.Index
		return nil
	})
	return idx, err
}

// inNS runs f on a thread of its own inside namespace ns. The thread is
// locked and never unlocked, so the runtime discards it afterwards and
// nothing else ever runs in the wrong namespace or with f's CPU affinity.
func inNS(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		target, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// sh runs a command, inside namespace ns when ns is not empty (nsenter
// keeps the mount namespace, so /sys/fs/bpf stays visible), with stdin.
func sh(ctx context.Context, ns string, stdin []byte, args ...string) error {
	_, err := shOut(ctx, ns, stdin, args...)
	return err
}

func shOut(ctx context.Context, ns string, stdin []byte, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"nsenter", "--net=/run/netns/" + ns, "--"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
