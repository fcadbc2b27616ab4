package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/cilium/ebpf"
)

const groupPerPacket = "1. per-packet cost (BPF_PROG_TEST_RUN)"

var perPktMiss = netip.MustParseAddr("198.18.0.9") // never banned

// timeOnce runs prog on frame repeat times in one BPF_PROG_TEST_RUN and
// returns ns per run. The kernel reports whole nanoseconds per run, too
// coarse for a 6 ns floor, so the time is taken around the syscall
// instead: with a million repeats its own cost is below 0.01 ns per run.
func timeOnce(prog *ebpf.Program, frame []byte, repeat int) (float64, uint32, error) {
	start := time.Now()
	ret, err := prog.Run(&ebpf.RunOptions{Data: frame, Repeat: uint32(repeat)})
	el := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("run program: %w", err)
	}
	return float64(el.Nanoseconds()) / float64(repeat), ret, nil
}

// series is one case's times over the rounds and its per-round ratios to
// the floor of the same round.
type series struct {
	ns, ratios []float64
}

func (s *series) add(ns, floor float64) {
	s.ns = append(s.ns, ns)
	s.ratios = append(s.ratios, ns/floor)
}

// report adds the case's median time and its median ratio to the floor.
func (s *series) report(r *Report, name string, floorMed float64) {
	ns := median(s.ns)
	r.Add(Figure{Group: groupPerPacket, Name: name, Value: ns, Unit: "ns/pkt", Samples: s.ns})
	r.Add(Figure{Group: groupPerPacket, Name: name + " / floor", Value: median(s.ratios), Unit: "x",
		Num: &Input{name, ns, "ns/pkt"}, Den: &Input{"floor", floorMed, "ns/pkt"},
		Note: fmt.Sprintf("median of %d interleaved per-round ratios", len(s.ratios)), Samples: s.ratios})
}

// timeVerdict is timeOnce for a program that must return want.
func timeVerdict(prog *ebpf.Program, frame []byte, repeat int, want uint32) (float64, error) {
	ns, ret, err := timeOnce(prog, frame, repeat)
	if err == nil && ret != want {
		err = fmt.Errorf("verdict %d, want %d", ret, want)
	}
	return ns, err
}

// PerPacket measures figure 1: the floor, then xdpban's hit, miss and
// other-port cases with 1, 10k and 1M bans, then random keys at 1M.
func PerPacket(ctx context.Context, r *Report) error {
	const repeat, rounds = 1_000_000, 11
	floor, err := passProgram()
	if err != nil {
		return err
	}
	defer floor.Close()
	dp, err := loadDatapath(1_000_000, 0)
	if err != nil {
		return err
	}
	defer dp.Close()
	prog := dp.Program()
	banMap, err := ebpf.LoadPinnedMap(filepath.Join(dp.pinDir, "xdpban_bans"), nil)
	if err != nil {
		return fmt.Errorf("open ban map: %w", err)
	}
	defer banMap.Close()
	naive, err := naiveProgram(banMap)
	if err != nil {
		return err
	}
	defer naive.Close()

	hitSrc := banAddr(0)
	frames := []struct {
		name    string
		frame   []byte
		verdict uint32
	}{
		{"hit (banned, port 6619)", synFrame(benchMAC1, benchMAC2, hitSrc, labServer, 40000, labPort), xdpDrop},
		{"miss (not banned, port 6619)", synFrame(benchMAC1, benchMAC2, perPktMiss, labServer, 40000, labPort), xdpPass},
		{"other port (banned, port 22)", synFrame(benchMAC1, benchMAC2, hitSrc, labServer, 40000, 22), xdpPass},
	}
	filled := 0
	for _, n := range []int{1, 10_000, 1_000_000} {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		if err := fillBans(dp.bans, filled, n); err != nil {
			return err
		}
		r.Progress("per-packet: %d bans in the map (wrote %d in %s)", n, n-filled, time.Since(start).Round(time.Millisecond))
		filled = n
		// Rounds interleave the floor and the cases, and each ratio is the
		// median of per-round ratios: on a shared machine a burst of load
		// then moves both sides of a ratio alike. The naive program runs on
		// the hit and the miss frame in the same rounds.
		label := banCount(n)
		floorNs := make([]float64, 0, rounds)
		cases := make([]series, len(frames))
		naives := make([]series, 2)
		vsNaive := make([][]float64, len(naives))
		for range rounds {
			fl, _, err := timeOnce(floor, frames[0].frame, repeat)
			if err != nil {
				return err
			}
			floorNs = append(floorNs, fl)
			for i, f := range frames {
				ns, err := timeVerdict(prog, f.frame, repeat, f.verdict)
				if err != nil {
					return fmt.Errorf("per-packet %s with %s: %w", f.name, label, err)
				}
				cases[i].add(ns, fl)
				if i >= len(naives) {
					continue
				}
				nv, err := timeVerdict(naive, f.frame, repeat, f.verdict)
				if err != nil {
					return fmt.Errorf("per-packet naive %s with %s: %w", f.name, label, err)
				}
				naives[i].add(nv, fl)
				vsNaive[i] = append(vsNaive[i], ns/nv)
			}
		}
		floorMed := median(floorNs)
		r.Add(Figure{Group: groupPerPacket, Name: "floor: bare XDP_PASS (" + label + " run)", Value: floorMed, Unit: "ns/pkt", Samples: floorNs})
		for i, f := range frames {
			cases[i].report(r, fmt.Sprintf("%s, %s", f.name, label), floorMed)
		}
		for i := range naives {
			name := fmt.Sprintf("%s, %s", frames[i].name, label)
			naiveName := "naive lookup program, " + name
			naives[i].report(r, naiveName, floorMed)
			r.Add(Figure{Group: groupPerPacket, Name: "xdpban / naive lookup program, " + name, Value: median(vsNaive[i]), Unit: "x",
				Num: &Input{name, median(cases[i].ns), "ns/pkt"}, Den: &Input{naiveName, median(naives[i].ns), "ns/pkt"},
				Note: fmt.Sprintf("median of %d interleaved per-round ratios", rounds), Samples: vsNaive[i]})
		}
	}
	return randomKeys(ctx, r, floor, prog)
}

// randomKeys measures lookups of many distinct sources at 1M bans: one
// BPF_PROG_TEST_RUN per frame (repeat 1), so every lookup starts with the
// caches as the previous syscall left them. The kernel times each run
// (two clock reads around one program run); the floor is timed the same
// way over the same frames, so the ratio compares like with like.
func randomKeys(ctx context.Context, r *Report, floor, prog *ebpf.Program) error {
	const n = 40_000
	var hits, misses [][]byte
	for i := range n {
		// A multiplicative walk spreads the sources over the whole map.
		k := (i * 7919 * 104729) % 1_000_000
		hits = append(hits, synFrame(benchMAC1, benchMAC2, banAddr(k), labServer, 40000, labPort))
		misses = append(misses, synFrame(benchMAC1, benchMAC2, banAddr(1_000_000+k), labServer, 40000, labPort))
	}
	mean := func(p *ebpf.Program, frames [][]byte, want uint32) (float64, error) {
		var total time.Duration
		for _, f := range frames {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			ret, d, err := p.Benchmark(f, 1, nil)
			if err != nil {
				return 0, err
			}
			if want != 0 && ret != want {
				return 0, fmt.Errorf("random keys: verdict %d, want %d", ret, want)
			}
			total += d
		}
		return float64(total.Nanoseconds()) / float64(len(frames)), nil
	}
	floorNs, err := mean(floor, hits, 0)
	if err != nil {
		return err
	}
	r.Add(Figure{Group: groupPerPacket, Name: "floor, one run per frame", Value: floorNs, Unit: "ns/pkt"})
	same := make([][]byte, n)
	for i := range same {
		same[i] = hits[0]
	}
	sameNs, err := mean(prog, same, xdpDrop)
	if err != nil {
		return err
	}
	r.Add(Figure{Group: groupPerPacket, Name: "one source repeated, one run per frame, 1M bans", Value: sameNs, Unit: "ns/pkt"})
	for _, c := range []struct {
		name   string
		frames [][]byte
		want   uint32
	}{{"random hits, 1M bans", hits, xdpDrop}, {"random misses, 1M bans", misses, xdpPass}} {
		ns, err := mean(prog, c.frames, c.want)
		if err != nil {
			return err
		}
		r.Add(Figure{Group: groupPerPacket, Name: c.name + fmt.Sprintf(" (%dk sources)", n/1000), Value: ns, Unit: "ns/pkt"})
		r.Ratio(groupPerPacket, c.name+" / floor", Input{c.name, ns, "ns/pkt"}, Input{"floor, one run per frame", floorNs, "ns/pkt"}, "")
	}
	r.Note("random keys: %d distinct sources, one BPF_PROG_TEST_RUN (repeat 1) per frame, kernel-timed; includes one clock-read pair per run in both the floor and xdpban", n)
	return nil
}

func banCount(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM bans", n/1_000_000)
	case n >= 1000:
		return fmt.Sprintf("%dk bans", n/1000)
	case n == 1:
		return "1 ban"
	}
	return fmt.Sprintf("%d bans", n)
}
