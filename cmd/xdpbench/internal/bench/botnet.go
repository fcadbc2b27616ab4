package bench

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
)

const groupBotnet = "2b. botnet: 1M bans, SYN floods from 100k sources (in-kernel generator, one CPU)"

// Names of the botnet floods the ratios are taken between.
const (
	bnXDPSpread  = "xdpban, 100k banned sources"
	bnXDPOne     = "xdpban, 1 banned source"
	bnNFTSpread  = "nftables set, 100k banned sources"
	bnNFTOne     = "nftables set, 1 banned source"
	bnDrop       = "bare XDP_DROP, 100k sources"
	bnNaive      = "naive lookup program, 100k banned sources"
	bnXDPMissAll = "xdpban, 100k unbanned sources"
	bnXDPMiss    = "xdpban, 1 unbanned source (single-source miss)"
	bnNFTMissAll = "nftables set, 100k unbanned sources"
	bnPass       = "bare XDP_PASS, 100k unbanned sources"

	// bnOnTheWire is figure 1's "random hits, 1M bans / floor" in a flood.
	bnOnTheWire = "random hits on the wire: xdpban receiver ns/pkt, 100k banned sources / bare XDP_DROP"
)

// botnetFlood is one flood of the botnet figures: a generator, the sink
// that receives it and whether its frames are innocent (addressed to
// benchMAC3, see there).
type botnetFlood struct {
	name     string
	s        *sink
	tx       *ebpf.Program
	innocent bool
}

func (f botnetFlood) run(ctx context.Context, cpus []int) (floodResult, error) {
	dst := f.s.p.SMAC
	if f.innocent {
		dst = benchMAC3
	}
	res, err := f.s.flood(ctx, f.tx, synFrame(f.s.p.AMAC, dst, botnetBase, labServer, 40000, labPort), cpus)
	if err != nil {
		return res, fmt.Errorf("%s: %w", f.name, err)
	}
	return res, nil
}

// Botnet measures figures 2b and 2c: with a million bans, floods from
// 100,000 banned sources in random order against xdpban, an nftables set
// of the same million and a bare XDP_DROP; floods from 100,000 unbanned
// sources against xdpban, the set and a bare XDP_PASS; each beside its
// single-source flood. Then the banned floods on one receiving CPU and on
// two. Rounds interleave every flood.
func Botnet(ctx context.Context, r *Report, rounds int) error {
	g := &botnetRig{}
	defer g.Close()
	floods, err := g.setup(ctx, r)
	if err != nil {
		return err
	}
	byName := map[string]botnetFlood{}
	for _, f := range floods {
		byName[f.name] = f
	}
	res := map[string][]floodResult{}
	var loads []float64
	for round := 1; round <= rounds; round++ {
		loads = append(loads, loadAvg())
		for _, f := range floods {
			if err := ctx.Err(); err != nil {
				return err
			}
			x, err := f.run(ctx, []int{floodCPU})
			if err != nil {
				return err
			}
			r.Progress("botnet round %d/%d  %-48s %10.0f pkt/s handled, receiver %6.0f ns/pkt, CPU %6.0f ns/pkt (sent %d)",
				round, rounds, f.name, x.pps, x.softirqNs, x.cpuNs, x.sent)
			res[f.name] = append(res[f.name], x)
		}
	}
	load := "load average (1 min) at the rounds: " + joinFloats(loads)
	for _, f := range floods {
		xs := res[f.name]
		pps, soft, cpu := pick(xs, floodPPS), pick(xs, floodSoft), pick(xs, floodCPUNs)
		r.Add(Figure{Group: groupBotnet, Name: f.name + ": handled", Value: median(pps), Unit: "pkt/s", Samples: pps, Note: load})
		r.Add(Figure{Group: groupBotnet, Name: f.name + ": receiver CPU", Value: median(soft), Unit: "ns/pkt", Samples: soft, Note: load})
		r.Add(Figure{Group: groupBotnet, Name: f.name + ": CPU incl. generator", Value: median(cpu), Unit: "ns/pkt", Samples: cpu, Note: load})
	}
	ratio := func(name string, v func(floodResult) float64, unit, num, den string) {
		a, b := res[num], res[den]
		var rs []float64
		for k := range min(len(a), len(b)) {
			if v(b[k]) > 0 {
				rs = append(rs, v(a[k])/v(b[k]))
			}
		}
		r.Add(Figure{Group: groupBotnet, Name: name, Value: median(rs), Unit: "x", Samples: rs,
			Num:  &Input{num + " (median)", median(pick(a, v)), unit},
			Den:  &Input{den + " (median)", median(pick(b, v)), unit},
			Note: "median of per-round ratios; " + load})
	}
	handledBy := func(name, num, den string) { ratio(name, floodPPS, "pkt/s handled", num, den) }
	recvBy := func(name, num, den string) { ratio(name, floodSoft, "ns/pkt receiver", num, den) }
	handledBy("xdpban handles × nftables set, 100k banned sources (target ≥ 5×)", bnXDPSpread, bnNFTSpread)
	recvBy("receiver ns/pkt, nftables set / xdpban, 100k banned sources", bnNFTSpread, bnXDPSpread)
	handledBy("xdpban handles × nftables set, 1 banned source", bnXDPOne, bnNFTOne)
	handledBy("xdpban / bare XDP_DROP, 100k banned sources", bnXDPSpread, bnDrop)
	recvBy(bnOnTheWire, bnXDPSpread, bnDrop)
	recvBy("xdpban receiver ns/pkt, 100k banned sources / 1 banned source", bnXDPSpread, bnXDPOne)
	recvBy("xdpban receiver ns/pkt / naive lookup program's, 100k banned sources", bnXDPSpread, bnNaive)
	recvBy("naive lookup program's receiver ns/pkt / nftables set's, 100k banned sources", bnNaive, bnNFTSpread)
	recvBy("nftables receiver ns/pkt, 100k banned sources / 1 banned source", bnNFTSpread, bnNFTOne)
	recvBy("xdpban receiver ns/pkt, 100k unbanned sources / single-source miss (target ≤ 1.5×)", bnXDPMissAll, bnXDPMiss)
	handledBy("xdpban handled, single-source miss / 100k unbanned sources", bnXDPMiss, bnXDPMissAll)
	handledBy("xdpban handles × nftables set, 100k unbanned sources", bnXDPMissAll, bnNFTMissAll)
	recvBy("xdpban receiver ns/pkt, 100k unbanned sources / bare XDP_PASS", bnXDPMissAll, bnPass)
	r.Note("botnet: each side holds 1,000,000 bans; banned floods come from %s + 0..%d (in xdpban's map and in the nftables set, beside 900k bans no flood comes from), innocent floods from the same addresses against a second map and set of 1M bans that hold none of them (198.18.0.0/15 has room for 131,072 sources, not 200k); the generator picks each frame's source with bpf_get_prandom_u32 and keeps both checksums valid by RFC 1624 updates; the single-source floods run the same generator over a range of one", botnetBase, botnetSources-1)
	r.Note("botnet: innocent frames are addressed to a MAC that is not s0's, so the server's IP layer discards whatever a filter passes (PACKET_OTHERHOST) and their rows measure the filter and the skb it hands on, not TCP (a SYN through TCP costs figure 2's 'no filter' row)")
	r.Note("botnet: every receiver gets its own pair of namespaces with a %d-queue veth for all rounds (the nftables set is loaded once, see the load times); each flood checks that the receiver gave (nearly) every frame s0 received the verdict its row names; %s per flood on CPU %d", botnetQueues, floodTime, floodCPU)
	return botnetScale(ctx, r, rounds, byName)
}

// setup builds the sinks and the two generators and returns the floods
// in the order each round runs them.
func (g *botnetRig) setup(ctx context.Context, r *Report) ([]botnetFlood, error) {
	var err error
	if g.dir, err = os.MkdirTemp("", "xdpbench-"); err != nil {
		return nil, err
	}
	tmpl := synFrame(benchMAC1, benchMAC2, botnetBase, labServer, 40000, labPort)
	spread, err := g.prog(spreadTXProgram(tmpl, botnetBase, botnetSources))
	if err != nil {
		return nil, err
	}
	one, err := g.prog(spreadTXProgram(tmpl, botnetBase, 1))
	if err != nil {
		return nil, err
	}
	pass, err := g.prog(passProgram())
	if err != nil {
		return nil, err
	}
	drop, err := g.prog(dropProgram())
	if err != nil {
		return nil, err
	}
	banned, innocent := botnetBanSets()
	r.Progress("botnet: loading 1M bans into two xdpban maps and two nftables sets")
	xb, xTook, err := g.xdpban(ctx, banned, true)
	if err != nil {
		return nil, err
	}
	xi, _, err := g.xdpban(ctx, innocent, false)
	if err != nil {
		return nil, err
	}
	nb, nTook, err := g.nft(ctx, pass, banned, true)
	if err != nil {
		return nil, err
	}
	ni, _, err := g.nft(ctx, pass, innocent, false)
	if err != nil {
		return nil, err
	}
	load := fmt.Sprintf("load average (1 min) %.1f", loadAvg())
	r.Add(Figure{Group: groupBotnet, Name: "1M bans into xdpban's map (BanBatch)", Value: xTook.Seconds(), Unit: "s", Note: load})
	r.Add(Figure{Group: groupBotnet, Name: fmt.Sprintf("1M elements into an nftables set (one nft -f, %dk per add element)", nftChunk/1000), Value: nTook.Seconds(), Unit: "s", Note: load})
	r.Ratio(groupBotnet, "nft -f / xdpban BanBatch, loading 1M", Input{"nft -f", nTook.Seconds(), "s"}, Input{"BanBatch", xTook.Seconds(), "s"}, load)
	naive, err := g.naive(ctx, g.dps[0])
	if err != nil {
		return nil, err
	}
	dropSink, err := g.bare(ctx, drop)
	if err != nil {
		return nil, err
	}
	passSink, err := g.bare(ctx, pass)
	if err != nil {
		return nil, err
	}
	return []botnetFlood{
		{bnXDPSpread, xb, spread, false},
		{bnXDPOne, xb, one, false},
		{bnNFTSpread, nb, spread, false},
		{bnNFTOne, nb, one, false},
		{bnNaive, naive, spread, false},
		{bnDrop, dropSink, spread, false},
		{bnXDPMissAll, xi, spread, true},
		{bnXDPMiss, xi, one, true},
		{bnNFTMissAll, ni, spread, true},
		{bnPass, passSink, spread, true},
	}, nil
}

func floodPPS(x floodResult) float64   { return x.pps }
func floodSoft(x floodResult) float64  { return x.softirqNs }
func floodCPUNs(x floodResult) float64 { return x.cpuNs }

func pick(xs []floodResult, f func(floodResult) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, ", ")
}
