package bench

import (
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

const groupApply = "4. applying bans (10k already in force)"

// applyReps is how many bans each way applies; each is one process.
const applyReps = 9

// Apply measures figure 4: one ban as one process for each way of
// banning, with 10k bans already in force, and 1M bans written in bulk.
func Apply(ctx context.Context, r *Report) error {
	tmp, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := buildXdpban(ctx, r, "apply", tmp)
	if err != nil {
		return err
	}
	dp, err := loadDatapath(1_000_000, floodBans)
	if err != nil {
		return err
	}
	defer dp.Close()
	dp.release() // as after the daemon stopped: xdpban ban writes the pins

	p, err := newPair(ctx, banAddr(0).String())
	if err != nil {
		return err
	}
	defer p.Close()
	if err := sh(ctx, p.S, nftRuleset(p.SIf), "nft", "-f", "-"); err != nil {
		return err
	}
	if err := sh(ctx, p.S, f2bRuleset(), "iptables-restore"); err != nil {
		return err
	}

	// Each way bans addresses no one has banned yet.
	next := floodBans
	fresh := func() netip.Addr { next++; return banAddr(next) }
	ways := []struct {
		name string
		ns   string
		args func() []string
	}{
		{"xdpban ban (one process)", "", func() []string {
			return []string{bin, "ban", "--pin-dir", dp.pinDir, "--duration", "1h", fresh().String()}
		}},
		{"bpftool map update (one process)", "", func() []string {
			a := fresh().As16()
			return append([]string{"bpftool", "map", "update", "pinned", filepath.Join(dp.pinDir, "xdpban_bans"), "key", "hex"},
				append(hexBytes(a[:]), append([]string{"value", "hex"}, hexBytes(make([]byte, 32))...)...)...)
		}},
		{"nft add element (one process)", p.S, func() []string {
			return []string{"nft", "add", "element", "netdev", "xdpbench", "banned", "{ " + fresh().String() + " }"}
		}},
		{"iptables -I, fail2ban's ban (one process)", p.S, func() []string {
			return []string{"iptables", "-w", "-I", "f2b-xdpban", "1", "-s", fresh().String(), "-j", "REJECT", "--reject-with", "icmp-port-unreachable"}
		}},
	}
	var xdpNs float64
	for i, w := range ways {
		var xs []float64
		for range applyReps {
			if err := ctx.Err(); err != nil {
				return err
			}
			args := w.args()
			start := time.Now()
			if err := sh(ctx, w.ns, nil, args...); err != nil {
				return err
			}
			xs = append(xs, float64(time.Since(start).Nanoseconds()))
		}
		ns := median(xs)
		r.Add(Figure{Group: groupApply, Name: w.name, Value: ns, Unit: "ns", Samples: xs})
		if i == 0 {
			xdpNs = ns
			continue
		}
		r.Ratio(groupApply, w.name+" / xdpban ban", Input{w.name, ns, "ns"}, Input{ways[0].name, xdpNs, "ns"}, "")
	}
	r.Note("apply: wall time of one process each, median of %d, with 10k bans already in force (xdpban map, nft set, iptables chain); nft and iptables run through nsenter, which adds the same exec as the others pay once", applyReps)
	return bulk(ctx, r)
}

// bulk writes 1M bans into a fresh map with BPF_MAP_UPDATE_BATCH, the
// way a restart restores the state store.
func bulk(ctx context.Context, r *Report) error {
	dp, err := loadDatapath(1_000_000, 0)
	if err != nil {
		return err
	}
	defer dp.Close()
	start := time.Now()
	if err := fillBans(dp.bans, 0, 1_000_000); err != nil {
		return err
	}
	s := time.Since(start).Seconds()
	r.Add(Figure{Group: groupApply, Name: "1M bans in bulk into the map (xdp.BanMap.BanBatch, target < 3 s)", Value: s, Unit: "s"})
	return nil
}

func hexBytes(b []byte) []string {
	var out []string
	for _, c := range b {
		out = append(out, hex.EncodeToString([]byte{c}))
	}
	return out
}
