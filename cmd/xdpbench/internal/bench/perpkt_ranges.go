package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// rangePrefix is the i-th of the distinct /28 ranges the range figures
// ban, inside 198.19.0.0/16 (never the miss source, never a hit source).
func rangePrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(i / 16), byte(i%16) * 16}), 28)
}

// RangeMiss measures what range bans cost a source that is not banned:
// the miss frame through the program xdpban runs with 0, 1 and 1,000
// ranges banned, against the program with range bans compiled out, on
// the same maps, in interleaved rounds. With no range banned xdpban runs
// that very build, so the two must be equal; with ranges, the miss pays
// the count's load and one LPM-trie lookup.
func RangeMiss(ctx context.Context, r *Report) error {
	const repeat, rounds = 1_000_000, 11
	floor, err := passProgram()
	if err != nil {
		return err
	}
	defer floor.Close()
	dp, err := loadDatapath(1024, 1)
	if err != nil {
		return err
	}
	defer dp.Close()
	base, err := dp.ProgramWithoutRanges()
	if err != nil {
		return err
	}
	defer base.Close()
	miss := synFrame(benchMAC1, benchMAC2, perPktMiss, labServer, 40000, labPort)
	inRange := synFrame(benchMAC1, benchMAC2, netip.MustParseAddr("198.19.0.5"), labServer, 40000, labPort)

	banned := 0
	for _, n := range []int{0, 1, 1000} {
		if err := ctx.Err(); err != nil {
			return err
		}
		until := time.Now().Add(benchBanTime)
		for ; banned < n; banned++ {
			if err := dp.BanMap().Ban(rangePrefix(banned), until); err != nil {
				return fmt.Errorf("ban range %s: %w", rangePrefix(banned), err)
			}
		}
		// The build the links run now: without range support while no
		// range is banned (see internal/xdp/rangeprog.go).
		prog := dp.ActiveProgram()
		label := fmt.Sprintf("%d ranges", n)
		if n == 1 {
			label = "1 range"
		}
		r.Progress("per-packet: %s banned", label)
		var floorNs, missNs, baseNs, hitNs, vsBase []float64
		for round := range rounds {
			fl, _, err := timeOnce(floor, miss, repeat)
			if err != nil {
				return err
			}
			// Alternate which of the pair runs first, so that neither always
			// runs on caches the other warmed.
			var b, m float64
			for i := range 2 {
				if (i+round)%2 == 0 {
					b, err = timeVerdict(base, miss, repeat, xdpPass)
				} else {
					m, err = timeVerdict(prog, miss, repeat, xdpPass)
				}
				if err != nil {
					return fmt.Errorf("miss with %s: %w", label, err)
				}
			}
			floorNs, baseNs, missNs = append(floorNs, fl), append(baseNs, b), append(missNs, m)
			vsBase = append(vsBase, m/b)
			if n > 0 {
				h, err := timeVerdict(prog, inRange, repeat, xdpDrop)
				if err != nil {
					return fmt.Errorf("range hit with %s: %w", label, err)
				}
				hitNs = append(hitNs, h)
			}
		}
		missName := "miss (not banned, port 6619), 1 ban, " + label
		baseName := "miss without range support, 1 ban, " + label
		r.Add(Figure{Group: groupPerPacket, Name: missName, Value: median(missNs), Unit: "ns/pkt", Samples: missNs})
		r.Add(Figure{Group: groupPerPacket, Name: baseName, Value: median(baseNs), Unit: "ns/pkt", Samples: baseNs})
		r.Add(Figure{Group: groupPerPacket, Name: "miss with range support / without, " + label, Value: median(vsBase), Unit: "x",
			Num: &Input{missName, median(missNs), "ns/pkt"}, Den: &Input{baseName, median(baseNs), "ns/pkt"},
			Note: fmt.Sprintf("median of %d interleaved per-round ratios; floor %.2f ns", rounds, median(floorNs)), Samples: vsBase})
		if len(hitNs) > 0 {
			r.Add(Figure{Group: groupPerPacket, Name: "range hit (source in a banned /28), " + label, Value: median(hitNs), Unit: "ns/pkt", Samples: hitNs})
		}
	}
	return nil
}
