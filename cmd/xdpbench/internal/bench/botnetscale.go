package bench

import (
	"context"
	"fmt"
	"runtime"
)

const groupScale = "2c. botnet floods on one receiving CPU and on two (2-queue veth)"

// botnetScale measures figure 2c: the banned botnet floods sent from one
// CPU and from two at once. veth queues what a CPU sends on that CPU's
// receive queue and runs the queue there, so two sending CPUs are two
// receiving CPUs, each also generating. The bare XDP_DROP shows what the
// rig itself scales to; a receiver scales as well as it does or less.
func botnetScale(ctx context.Context, r *Report, rounds int, floods map[string]botnetFlood) error {
	if runtime.NumCPU() < 2 {
		r.Note("scale: skipped, this machine has one CPU")
		return nil
	}
	names := []string{bnXDPSpread, bnXDPOne, bnNFTSpread, bnDrop}
	cpuSets := [][]int{{0}, {0, 1}}
	res := map[string][2][]floodResult{}
	var loads []float64
	for round := 1; round <= rounds; round++ {
		loads = append(loads, loadAvg())
		for _, name := range names {
			x := res[name]
			for k, cpus := range cpuSets {
				if err := ctx.Err(); err != nil {
					return err
				}
				y, err := floods[name].run(ctx, cpus)
				if err != nil {
					return fmt.Errorf("scale: %w", err)
				}
				r.Progress("scale round %d/%d  %-34s %d CPU: %10.0f pkt/s handled, receiver %6.0f ns/pkt", round, rounds, name, len(cpus), y.pps, y.softirqNs)
				x[k] = append(x[k], y)
			}
			res[name] = x
		}
	}
	load := "load average (1 min) at the rounds: " + joinFloats(loads)
	scaled := map[string][]float64{}
	for _, name := range names {
		x := res[name]
		for k, cpus := range cpuSets {
			pps, soft := pick(x[k], floodPPS), pick(x[k], floodSoft)
			r.Add(Figure{Group: groupScale, Name: fmt.Sprintf("%s, %d CPU: handled", name, len(cpus)), Value: median(pps), Unit: "pkt/s", Samples: pps, Note: load})
			r.Add(Figure{Group: groupScale, Name: fmt.Sprintf("%s, %d CPU: receiver CPU", name, len(cpus)), Value: median(soft), Unit: "ns/pkt", Samples: soft, Note: load})
		}
		var rs []float64
		for i := range x[1] {
			if x[0][i].pps > 0 {
				rs = append(rs, x[1][i].pps/x[0][i].pps)
			}
		}
		scaled[name] = rs
		var cost []float64
		for i := range x[1] {
			if x[0][i].softirqNs > 0 {
				cost = append(cost, x[1][i].softirqNs/x[0][i].softirqNs)
			}
		}
		r.Add(Figure{Group: groupScale, Name: name + ": receiver ns/pkt, 2 CPUs / 1", Value: median(cost), Unit: "x", Samples: cost,
			Num:  &Input{name + ", 2 CPU: receiver CPU (median)", median(pick(x[1], floodSoft)), "ns/pkt"},
			Den:  &Input{name + ", 1 CPU: receiver CPU (median)", median(pick(x[0], floodSoft)), "ns/pkt"},
			Note: "median of per-round ratios; " + load})
		r.Add(Figure{Group: groupScale, Name: name + ": handled, 2 CPUs / 1", Value: median(rs), Unit: "x", Samples: rs,
			Num:  &Input{name + ", 2 CPU: handled (median)", median(pick(x[1], floodPPS)), "pkt/s"},
			Den:  &Input{name + ", 1 CPU: handled (median)", median(pick(x[0], floodPPS)), "pkt/s"},
			Note: "median of per-round ratios; " + load})
	}
	for _, name := range names[:3] {
		var rs []float64
		for i := range min(len(scaled[name]), len(scaled[bnDrop])) {
			rs = append(rs, scaled[name][i]/scaled[bnDrop][i])
		}
		r.Add(Figure{Group: groupScale, Name: name + ": scaling / the bare XDP_DROP's", Value: median(rs), Unit: "x", Samples: rs,
			Num:  &Input{name + ": 2 CPUs / 1", median(scaled[name]), "x"},
			Den:  &Input{bnDrop + ": 2 CPUs / 1", median(scaled[bnDrop]), "x"},
			Note: "median of per-round ratios; " + load})
	}
	r.Note("scale: the generator runs on every receiving CPU (CPU 0, then CPUs 0 and 1 at once); veth queues each CPU's frames on its own receive queue and runs that queue's NAPI on the same CPU, so both CPUs generate and receive; with other work on the machine the second CPU is shared with it")
	return nil
}
