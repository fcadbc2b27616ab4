package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
)

const (
	botnetBans    = 1_000_000
	botnetSources = 100_000
	botnetQueues  = 2 // receive queues of every botnet veth, for the scaling rows
	nftChunk      = 100_000
)

// botnetBase is the first of the floods' sources, base .. base+99,999
// (198.18.64.0 .. 198.19.198.159): inside 198.18.0.0/15 and clear of the
// server's 198.18.0.1.
var botnetBase = netip.MustParseAddr("198.18.64.0")

// benchMAC3 is nobody's: innocent floods are addressed to it, so the
// server's IP layer discards what a filter lets through (PACKET_OTHERHOST)
// and the figure is the filter's, not TCP's.
var benchMAC3 = net.HardwareAddr{0x02, 0, 0, 0, 0, 3}

// fillerBan is the i-th ban that no flood comes from: 198.20.0.0 upward,
// past the sources (these addresses are map keys only, never on a wire).
func fillerBan(i int) netip.Addr {
	return addrFromU32(uint32(198)<<24 | uint32(20)<<16 + uint32(i))
}

// botnetBanSets are the two sets of a million bans: banned holds the
// floods' 100k sources and 900k fillers, innocent a million fillers and
// none of the sources. 198.18.0.0/15 has room for 131,072 sources, not
// for 100k banned and 100k innocent ones side by side.
func botnetBanSets() (banned, innocent []netip.Addr) {
	banned = make([]netip.Addr, 0, botnetBans)
	for i := range botnetSources {
		banned = append(banned, addrFromU32(u32(botnetBase)+uint32(i)))
	}
	for i := range botnetBans - botnetSources {
		banned = append(banned, fillerBan(i))
	}
	innocent = make([]netip.Addr, botnetBans)
	for i := range innocent {
		innocent[i] = fillerBan(i)
	}
	return banned, innocent
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// sink is one receiver of the botnet floods, set up once in its own pair
// for every round. handled counts what it dropped (banned floods) or let
// through (innocent ones); wrong, when set, the opposite verdict.
type sink struct {
	p              *pair
	handled, wrong func() (uint64, error)
}

// botnetRig owns everything the botnet figures set up; Close removes it.
type botnetRig struct {
	pairs []*pair
	dps   []*benchDatapath
	progs []*ebpf.Program
	dir   string
}

func (g *botnetRig) Close() {
	for _, p := range g.pairs {
		p.Close()
	}
	for _, d := range g.dps {
		d.Close()
	}
	for _, p := range g.progs {
		p.Close()
	}
	if g.dir != "" {
		os.RemoveAll(g.dir)
	}
}

func (g *botnetRig) prog(p *ebpf.Program, err error) (*ebpf.Program, error) {
	if err == nil {
		g.progs = append(g.progs, p)
	}
	return p, err
}

// pair makes a fresh pair of botnetQueues queues with prog on s0.
func (g *botnetRig) pair(ctx context.Context, prog *ebpf.Program) (*pair, error) {
	p, err := newPairQueues(ctx, botnetBase.String(), botnetQueues)
	if err != nil {
		return nil, err
	}
	g.pairs = append(g.pairs, p)
	return p, attachXDP(p, prog)
}

// xdpban loads xdpban with room for botnetBans, bans addrs through
// BanBatch, the daemon's restore path, and attaches it to a pair of its
// own. It returns the sink and how long the bans took to write.
func (g *botnetRig) xdpban(ctx context.Context, addrs []netip.Addr, banned bool) (*sink, time.Duration, error) {
	d, err := loadDatapath(botnetBans, 0)
	if err != nil {
		return nil, 0, err
	}
	g.dps = append(g.dps, d)
	start := time.Now()
	if err := banAddrs(d.bans, addrs); err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	p, err := g.pair(ctx, d.Program())
	if err != nil {
		return nil, 0, err
	}
	dropped := func() (uint64, error) { c, err := d.Counters(); return c.Dropped, err }
	passed := func() (uint64, error) { c, err := d.Counters(); return c.Passed, err }
	if banned {
		return &sink{p: p, handled: dropped, wrong: passed}, took, nil
	}
	return &sink{p: p, handled: passed, wrong: dropped}, took, nil
}

// naive puts the naive lookup program (see naiveProgram) on the ban map
// of d, the datapath of an earlier xdpban sink, on a pair of its own: one
// hash lookup per packet, no filter and no counters.
func (g *botnetRig) naive(ctx context.Context, d *benchDatapath) (*sink, error) {
	m, err := ebpf.LoadPinnedMap(filepath.Join(d.pinDir, "xdpban_bans"), nil)
	if err != nil {
		return nil, fmt.Errorf("open ban map: %w", err)
	}
	defer m.Close() // the program holds its own reference
	prog, err := g.prog(naiveProgram(m))
	if err != nil {
		return nil, err
	}
	return g.bare(ctx, prog)
}

// nft puts an nftables netdev ingress set holding addrs on a pair of its
// own behind a bare XDP_PASS (as every non-XDP receiver of figure 2 has),
// loaded with one `nft -f` of a file that adds them nftChunk at a time.
// It returns the sink and how long nft took.
func (g *botnetRig) nft(ctx context.Context, pass *ebpf.Program, addrs []netip.Addr, banned bool) (*sink, time.Duration, error) {
	p, err := g.pair(ctx, pass)
	if err != nil {
		return nil, 0, err
	}
	file := filepath.Join(g.dir, p.S+".nft")
	if err := os.WriteFile(file, nftSetFile(p.SIf, addrs), 0o600); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := sh(ctx, p.S, nil, "nft", "-f", file); err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	// `nft list counter` reads the set's million elements first (tens of
	// seconds); a terse listing of the ruleset skips them.
	hits := func() (uint64, error) {
		return firstCount(ctx, p.S, `counter hits \{\s*packets (\d+)`, "nft", "-t", "list", "ruleset")
	}
	if banned {
		return &sink{p: p, handled: hits}, took, nil
	}
	return &sink{p: p, handled: func() (uint64, error) { return rxPackets(p.S, p.SIf) }, wrong: hits}, took, nil
}

// nftSetFile is figure 2's nftables ruleset with the set filled by
// `add element` statements of nftChunk addresses each.
func nftSetFile(dev string, addrs []netip.Addr) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "table netdev xdpbench {\n  counter hits { }\n  set banned {\n    type ipv4_addr\n  }\n")
	fmt.Fprintf(&b, "  chain ingress {\n    type filter hook ingress device %q priority -500; policy accept;\n", dev)
	b.WriteString("    ip saddr @banned tcp dport 6619 counter name \"hits\" drop\n  }\n}\n")
	for len(addrs) > 0 {
		n := min(len(addrs), nftChunk)
		b.WriteString("add element netdev xdpbench banned { ")
		for i, a := range addrs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.String())
		}
		b.WriteString(" }\n")
		addrs = addrs[n:]
	}
	return []byte(b.String())
}

// bare puts prog alone on a pair of its own; what it handled is what s0
// received.
func (g *botnetRig) bare(ctx context.Context, prog *ebpf.Program) (*sink, error) {
	p, err := g.pair(ctx, prog)
	if err != nil {
		return nil, err
	}
	return &sink{p: p, handled: func() (uint64, error) { return rxPackets(p.S, p.SIf) }}, nil
}

// flood sends frame with tx out of s's attacker veth from each of cpus
// for floodTime and returns the rate s handled it at. It fails when s
// did not handle (nearly) every frame s0 received, or gave a percent or
// more of them the other verdict: then the sources are not what the
// figure says.
func (s *sink) flood(ctx context.Context, tx *ebpf.Program, frame []byte, cpus []int) (floodResult, error) {
	rx0, err := rxPackets(s.p.S, s.p.SIf)
	if err != nil {
		return floodResult{}, err
	}
	w0, err := s.count(s.wrong)
	if err != nil {
		return floodResult{}, err
	}
	res, err := measureFlood(s.handled, cpus, func() (uint64, error) { return floodFrom(ctx, tx, s.p, frame, cpus) })
	if err != nil {
		return floodResult{}, err
	}
	rx1, err := rxPackets(s.p.S, s.p.SIf)
	if err != nil {
		return floodResult{}, err
	}
	w1, err := s.count(s.wrong)
	if err != nil {
		return floodResult{}, err
	}
	if rx := rx1 - rx0; res.n < rx*99/100 || res.n == 0 {
		return floodResult{}, fmt.Errorf("handled %d of the %d frames s0 received", res.n, rx)
	}
	if w := w1 - w0; w*100 >= res.n {
		return floodResult{}, fmt.Errorf("%d frames got the other verdict, %d the expected one", w, res.n)
	}
	return res, nil
}

func (s *sink) count(f func() (uint64, error)) (uint64, error) {
	if f == nil {
		return 0, nil
	}
	return f()
}

// floodFrom runs the generator from every CPU of cpus at once for
// floodTime, in runs of about 100 ms, and returns the frames sent.
func floodFrom(ctx context.Context, tx *ebpf.Program, p *pair, frame []byte, cpus []int) (uint64, error) {
	sent := make([]uint64, len(cpus))
	errs := make([]error, len(cpus))
	start := time.Now()
	var wg sync.WaitGroup
	for i, cpu := range cpus {
		wg.Go(func() {
			sent[i], errs[i] = runGeneratorOn(ctx, cpu, tx, p, frame, func(n uint32, took time.Duration) uint32 {
				if time.Since(start) >= floodTime {
					return 0
				}
				return runSize(n, took, 100*time.Millisecond)
			})
		})
	}
	wg.Wait()
	var total uint64
	for i := range cpus {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += sent[i]
	}
	return total, nil
}

// loadAvg is the 1-minute load average, 0 when it cannot be read.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}
