package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

const groupFlood = "2. SYN flood into a veth, 10k bans (in-kernel generator, one CPU)"

// floodCPU runs the generator and, because veth schedules its NAPI on the
// CPU that sent, the receiver too.
const floodCPU = 0

// floodTime bounds every flood.
const floodTime = 1500 * time.Millisecond

type floodResult struct {
	pps       float64 // packets handled per second
	softirqNs float64 // receiver CPU (softirq time on floodCPU) per handled packet
	cpuNs     float64 // all busy time on floodCPU (generator included) per handled packet
	ownNs     float64 // the flood's own CPU time (generator thread, ksoftirqd) per handled packet
	sent      uint64
	n         uint64 // packets handled
}

// Flood measures figure 2: the same SYN flood against each receiver,
// rounds times, interleaved, each in fresh namespaces.
func Flood(ctx context.Context, r *Report, rounds int) error {
	tx, err := txProgram()
	if err != nil {
		return err
	}
	defer tx.Close()
	pass, err := passProgram()
	if err != nil {
		return err
	}
	defer pass.Close()
	drop, err := dropProgram()
	if err != nil {
		return err
	}
	defer drop.Close()
	dp, err := loadDatapath(floodBans*2, floodBans)
	if err != nil {
		return err
	}
	defer dp.Close()
	dp1, err := loadDatapath(floodBans*2, 1)
	if err != nil {
		return err
	}
	defer dp1.Close()

	recv := receivers(dp.Datapath, dp1.Datapath, pass, drop)
	results := make([][]floodResult, len(recv))
	for round := 1; round <= rounds; round++ {
		for i, rc := range recv {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := floodOnce(ctx, tx, rc)
			if err != nil {
				return fmt.Errorf("%s: %w", rc.name, err)
			}
			r.Progress("flood round %d/%d  %-58s %10.0f pkt/s handled, receiver %7.0f ns/pkt, CPU %7.0f ns/pkt, own CPU %6.1f ns/pkt (sent %d)",
				round, rounds, rc.name, res.pps, res.softirqNs, res.cpuNs, res.ownNs, res.sent)
			results[i] = append(results[i], res)
		}
	}

	byName := map[string]int{}
	for i, rc := range recv {
		byName[rc.name] = i
	}
	// perRound adds the median of per-round ratios (same round,
	// neighbouring floods) of num's what over den's; label and unit name
	// the inputs, samples gives their values.
	perRound := func(name, num, den, label, unit string, what func(floodResult) float64, samples func([]floodResult) []float64) {
		a, b := results[byName[num]], results[byName[den]]
		var ratios []float64
		for k := range b {
			if what(b[k]) > 0 {
				ratios = append(ratios, what(a[k])/what(b[k]))
			}
		}
		r.Add(Figure{Group: groupFlood, Name: name, Value: median(ratios), Unit: "x", Samples: ratios,
			Num:  &Input{num + ": " + label + " (median)", median(samples(a)), unit},
			Den:  &Input{den + ": " + label + " (median)", median(samples(b)), unit},
			Note: "median of per-round ratios"})
	}
	// ratio is num's handled rate over den's.
	ratio := func(name, num, den string) {
		perRound(name, num, den, "handled", "pkt/s", func(x floodResult) float64 { return x.pps }, handled)
	}
	for i, rc := range recv {
		pick := func(f func(floodResult) float64) []float64 {
			var xs []float64
			for _, res := range results[i] {
				xs = append(xs, f(res))
			}
			return xs
		}
		pps := handled(results[i])
		soft := pick(func(x floodResult) float64 { return x.softirqNs })
		cpu := pick(func(x floodResult) float64 { return x.cpuNs })
		ownCPU := own(results[i])
		r.Add(Figure{Group: groupFlood, Name: rc.name + ": handled", Value: median(pps), Unit: "pkt/s", Samples: pps})
		r.Add(Figure{Group: groupFlood, Name: rc.name + ": receiver CPU", Value: median(soft), Unit: "ns/pkt", Samples: soft})
		r.Add(Figure{Group: groupFlood, Name: rc.name + ": CPU incl. generator", Value: median(cpu), Unit: "ns/pkt", Samples: cpu})
		r.Add(Figure{Group: groupFlood, Name: rc.name + ": own CPU", Value: median(ownCPU), Unit: "ns/pkt", Samples: ownCPU})
		switch rc.name {
		case recvXDP, recvXDP1, recvBareDrop:
			// xdpban's own loads are compared with the limit below.
		default:
			ratio("XDP handles × "+rc.name, recvXDP, rc.name)
		}
	}
	ratio("xdpban / bare XDP_DROP, 10k bans", recvXDP, recvBareDrop)
	ratio("xdpban / bare XDP_DROP, 1 ban", recvXDP1, recvBareDrop)
	// The same share by the flood's own CPU time per packet, which other
	// jobs on floodCPU do not move: per round, bare's over xdpban's.
	cpuRatio := func(name, num, den string) {
		perRound(name, den, num, "own CPU", "ns/pkt", func(x floodResult) float64 { return x.ownNs }, own)
	}
	cpuRatio("xdpban / bare XDP_DROP by CPU time, 10k bans", recvXDP, recvBareDrop)
	cpuRatio("xdpban / bare XDP_DROP by CPU time, 1 ban", recvXDP1, recvBareDrop)
	r.Note("flood: an XDP_TX program run with BPF_F_TEST_XDP_LIVE_FRAMES on the attacker's veth sends 54-byte SYNs from one banned address (the oldest of 10k bans) to port 6619; generator and receiver NAPI share CPU %d; replies are dropped at tc egress; fresh namespaces per flood; %s per flood", floodCPU, floodTime)
	r.Note("flood: %q drops every frame and does nothing else (its count is s0's receive counter, as veth counts each frame its XDP program saw); xdpban / bare XDP_DROP is the share of that limit xdpban keeps, with 10k bans and with 1 (same --max-bans)", recvBareDrop)
	r.Note("flood: the non-XDP receivers have a bare XDP_PASS program on the server veth, as xdpban's veth has its program, so every receiver takes frames through the same native-XDP veth path")
	r.Note("flood: 'iptables raw PREROUTING' is one rule for the flooding address (ipset is not installed); 'a rule per ban' walks all 10k REJECT rules, as every packet of an unbanned partner does; iptables is %s", iptablesVersion(ctx))
	r.Note("flood: receiver CPU = softirq time sampled on CPU %d (this kernel has no IRQ time accounting, so it is tick-sampled) per handled packet", floodCPU)
	r.Note("flood: own CPU = CPU time of the generator's thread (the receiver's NAPI runs there on the way out of each run) and of ksoftirqd/%d, per handled packet: other jobs on that CPU lower the handled rate but not this; 'by CPU time' is bare XDP_DROP's own CPU over xdpban's, per round", floodCPU)
	return nil
}

func own(rs []floodResult) []float64 {
	xs := make([]float64, len(rs))
	for i, res := range rs {
		xs[i] = res.ownNs
	}
	return xs
}

func handled(rs []floodResult) []float64 {
	xs := make([]float64, len(rs))
	for i, res := range rs {
		xs[i] = res.pps
	}
	return xs
}

func floodOnce(ctx context.Context, tx *ebpf.Program, rc receiver) (floodResult, error) {
	src := banAddr(0)
	p, err := newPair(ctx, src.String())
	if err != nil {
		return floodResult{}, err
	}
	defer p.Close()
	if err := attachXDP(p, rc.prog); err != nil {
		return floodResult{}, err
	}
	count, err := rc.setup(ctx, p)
	if err != nil {
		return floodResult{}, err
	}
	var ownCPU time.Duration
	res, err := measureFlood(count, []int{floodCPU}, func() (uint64, error) {
		sent, cpu, err := generate(ctx, tx, p, src)
		ownCPU = cpu
		return sent, err
	})
	if res.n > 0 {
		res.ownNs = float64(ownCPU) / float64(res.n)
	}
	return res, err
}

// measureFlood runs flood and returns the rate at which count grew and
// the CPU time of cpus per packet it counted.
func measureFlood(count func() (uint64, error), cpus []int, flood func() (sent uint64, err error)) (floodResult, error) {
	before, err := count()
	if err != nil {
		return floodResult{}, err
	}
	cpu0, err := cpuTimes(cpus...)
	if err != nil {
		return floodResult{}, err
	}
	start := time.Now()
	sent, err := flood()
	elapsed := time.Since(start)
	if err != nil {
		return floodResult{}, err
	}
	cpu1, err := cpuTimes(cpus...)
	if err != nil {
		return floodResult{}, err
	}
	after, err := count()
	if err != nil {
		return floodResult{}, err
	}
	handled := float64(after - before)
	res := floodResult{pps: handled / elapsed.Seconds(), sent: sent, n: after - before}
	if handled > 0 {
		res.softirqNs = float64(cpu1.softirq-cpu0.softirq) / handled
		res.cpuNs = float64(cpu1.busy-cpu0.busy) / handled
	}
	return res, nil
}

// generate sends SYNs from src out of the attacker's veth for floodTime,
// in runs of about 100 ms so a slow receiver cannot stretch the flood. It
// returns the frames sent and the flood's own CPU time.
func generate(ctx context.Context, tx *ebpf.Program, p *pair, src netip.Addr) (uint64, time.Duration, error) {
	frame := synFrame(p.AMAC, p.SMAC, src, labServer, 40000, labPort)
	start := time.Now()
	return runGeneratorOnCPU(ctx, floodCPU, tx, p, frame, func(n uint32, took time.Duration) uint32 {
		if time.Since(start) >= floodTime {
			return 0
		}
		return runSize(n, took, 100*time.Millisecond)
	})
}

type cpuTime struct{ busy, softirq int64 } // ns

// cpuTimes reads the lines of cpus in /proc/stat (USER_HZ ticks) and
// sums them.
func cpuTimes(cpus ...int) (cpuTime, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTime{}, err
	}
	var sum cpuTime
	for _, cpu := range cpus {
		t, err := cpuLine(string(b), cpu)
		if err != nil {
			return cpuTime{}, err
		}
		sum.busy += t.busy
		sum.softirq += t.softirq
	}
	return sum, nil
}

func cpuLine(stat string, cpu int) (cpuTime, error) {
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for _, line := range strings.Split(stat, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)[1:]
		var v [8]int64
		for i := range v {
			if i < len(f) {
				v[i], _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		const tick = int64(time.Second) / 100 // USER_HZ
		// user nice system idle iowait irq softirq steal
		busy := v[0] + v[1] + v[2] + v[5] + v[6]
		return cpuTime{busy: busy * tick, softirq: v[6] * tick}, nil
	}
	return cpuTime{}, fmt.Errorf("no %s in /proc/stat", strings.TrimSpace(prefix))
}

func iptablesVersion(ctx context.Context) string {
	out, err := shOut(ctx, "", nil, "iptables", "-V")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(out)
}
