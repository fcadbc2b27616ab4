package banset

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// TestModel drives random sequences of bans (by failures, by hand, of
// addresses and of ranges, and CrowdSec's decisions as the daemon hands
// them to the jail), unbans (by hand and CrowdSec's deletions), expiry in
// the kernel, the jail's expiry, sweeps, restarts, reboots and a full map
// against the real program, map, range trie and store, and checks after
// every step that the jail, the map, the trie, the map's counting filter
// and the store agree, and that the program drops exactly the bans in
// force.
func TestModel(t *testing.T) {
	steps := 150
	if testing.Short() {
		steps = 60
	}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			l := newLab(t)
			rng := rand.New(rand.NewPCG(seed, 11))
			ranges, crowdsec := 0, 0
			for step := range steps {
				op := l.step(rng, step == steps/3)
				l.ops = append(l.ops, op)
				if err := l.check(); err != nil {
					t.Fatalf("after step %d (%s): %v\nsteps: %q", step, op, err, l.ops)
				}
				for _, b := range l.jail.Bans() {
					if l.dp.BanMap().IsRange(b.Prefix) {
						ranges++
					}
					if b.Origin == jail.OriginCrowdSec {
						crowdsec++
					}
				}
			}
			if l.evicted == 0 {
				t.Error("no step filled the map")
			}
			if ranges == 0 || crowdsec == 0 {
				t.Errorf("steps that left in force a range ban: %d, a CrowdSec ban: %d; want some of each", ranges, crowdsec)
			}
		})
	}
}

// step runs one random operation; fill forces the one that fills the map.
func (l *lab) step(rng *rand.Rand, fill bool) string {
	a := modelPool[rng.IntN(len(modelPool))]
	n := rng.IntN(100)
	if fill {
		n = 99
	}
	switch {
	case n < 22:
		for range l.cfg.MaxRetry {
			if _, err := l.jail.Fail(event.Failure{Addr: a, Time: time.Now(), Source: "model"}); err != nil {
				l.t.Fatalf("fail %v: %v", a, err)
			}
		}
		return "failures " + a.String()
	case n < 44:
		p := l.banPrefix(a)
		if n >= 34 {
			p = rangeAround(rng, a)
		}
		d := []time.Duration{time.Second, 2 * time.Second, time.Hour, -1}[rng.IntN(4)]
		if _, err := l.jail.BanManual(p, d); err != nil && !errors.Is(err, xdp.ErrFull) && !errors.Is(err, jail.ErrCoversIgnored) {
			l.t.Fatalf("ban %v: %v", p, err)
		}
		return fmt.Sprintf("ban %v %v", p, d)
	case n < 52:
		return l.crowdsecBan(rng)
	case n < 58:
		return l.crowdsecUnban(rng)
	case n < 67:
		p := netip.PrefixFrom(a, a.BitLen())
		if bans := l.jail.Bans(); rng.IntN(3) == 0 && len(bans) > 0 {
			p = bans[rng.IntN(len(bans))].Prefix
		}
		err := l.jail.Unban(p)
		if err != nil && !errors.Is(err, jail.ErrNotBanned) {
			l.t.Fatalf("unban %v: %v", p, err)
		}
		return fmt.Sprint("unban ", p)
	case n < 76:
		return "kernel expiry " + l.expireInKernel()
	case n < 81:
		l.jail.Expire()
		return "jail expiry"
	case n < 86:
		l.set.Sweep()
		return "sweep"
	case n < 93:
		l.close()
		l.open()
		return "restart"
	case n < 97:
		l.reboot()
		return "reboot"
	default:
		for i := range modelMaxBans + 2 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 41, byte(rng.IntN(200))}), 32)
			if _, err := l.jail.BanManual(p, time.Duration(2+i)*time.Second); err != nil {
				l.t.Fatalf("ban %v into a full map: %v", p, err)
			}
		}
		return "fill the map"
	}
}

// rangeAround is a range ban holding a: IPv4 /8 to /31 (up to /17 they
// hold the ignored 198.18.99.0/24 and are refused), IPv6 /16 up to the
// ban prefix, /64.
func rangeAround(rng *rand.Rand, a netip.Addr) netip.Prefix {
	bits := []int{8, 15, 17, 18, 20, 24, 26, 28, 29, 30, 31}
	if a.Is6() {
		bits = []int{16, 32, 44, 48, 56, 60, 63}
	}
	p, _ := a.Prefix(bits[rng.IntN(len(bits))])
	return p
}

// crowdsecBan hands the jail one to three decisions as the daemon's
// CrowdSec link does: origin crowdsec, ending when the decision does, an
// address (an IPv6 one widened to the ban prefix) or a range.
func (l *lab) crowdsecBan(rng *rand.Rand) string {
	now := time.Now()
	var bans []jail.Ban
	for range 1 + rng.IntN(3) {
		a := modelPool[rng.IntN(len(modelPool))]
		p := l.banPrefix(a)
		if rng.IntN(2) == 0 {
			p = rangeAround(rng, a)
		}
		d := []time.Duration{time.Second, 2 * time.Second, time.Hour}[rng.IntN(3)]
		bans = append(bans, jail.Ban{Prefix: p, Start: now, End: now.Add(d), Origin: jail.OriginCrowdSec})
	}
	if _, _, err := l.jail.BanExternal(bans); err != nil && !errors.Is(err, xdp.ErrFull) {
		l.t.Fatalf("crowdsec bans %v: %v", bans, err)
	}
	var out []string
	for _, b := range bans {
		out = append(out, fmt.Sprintf("%v %v", b.Prefix, b.End.Sub(now)))
	}
	return fmt.Sprint("crowdsec ban ", out)
}

// crowdsecUnban deletes decisions as CrowdSec does: mostly of its own
// bans in force, sometimes of a prefix it never banned. A ban of another
// origin on the same prefix must stay.
func (l *lab) crowdsecUnban(rng *rand.Rand) string {
	var ps []netip.Prefix
	own := l.jail.PrefixesOf(jail.OriginCrowdSec)
	for range 1 + rng.IntN(2) {
		a := modelPool[rng.IntN(len(modelPool))]
		switch {
		case len(own) > 0 && rng.IntN(3) > 0:
			ps = append(ps, own[rng.IntN(len(own))])
		case rng.IntN(2) == 0:
			ps = append(ps, rangeAround(rng, a))
		default:
			ps = append(ps, l.banPrefix(a))
		}
	}
	before := map[netip.Prefix]jail.Ban{}
	for _, b := range l.jail.Bans() {
		before[b.Prefix] = b
	}
	if _, err := l.jail.UnbanExternal(ps, jail.OriginCrowdSec); err != nil {
		l.t.Fatalf("crowdsec unbans %v: %v", ps, err)
	}
	after := map[netip.Prefix]bool{}
	for _, b := range l.jail.Bans() {
		after[b.Prefix] = true
	}
	for _, p := range ps {
		b, ok := before[p]
		if ok && b.Origin != jail.OriginCrowdSec && (b.Permanent() || time.Until(b.End) > margin) && !after[p] {
			l.t.Fatalf("crowdsec's deletion of %v lifted the %s ban on it\nsteps: %q", p, b.Origin, l.ops)
		}
		if ok && b.Origin == jail.OriginCrowdSec && after[p] {
			l.t.Fatalf("crowdsec's deletion of %v left its ban in force\nsteps: %q", p, l.ops)
		}
	}
	return fmt.Sprint("crowdsec unban ", ps)
}

// expireInKernel waits for the timed ban that ends soonest (if it ends
// within a second) to end, then sends its source's packet: the program
// passes it and deletes the entry, with no daemon step in between.
func (l *lab) expireInKernel() string {
	var soon *jail.Ban
	for _, b := range l.jail.Bans() {
		if !b.Permanent() && (soon == nil || b.End.Before(soon.End)) {
			soon = &b
		}
	}
	if soon == nil || time.Until(soon.End) > time.Second {
		return "(nothing ends soon)"
	}
	// A source that no other ban covers: ranges overlap other bans.
	src, ok := l.onlyCoveredBy(soon.Prefix)
	if !ok {
		return soon.Prefix.String() + " (every source of it is banned otherwise)"
	}
	// The program keeps time by the tick, which a loaded or virtual
	// machine may deliver late: the ban must end, never early, but
	// may end a little after its second.
	time.Sleep(time.Until(soon.End) + margin)
	for deadline := soon.End.Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		v := l.verdicts(src)[0] // on the CPU whose cache the checks fill
		if v == xdpPass {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := l.dp.Entries()
			l.t.Fatalf("ban %v that ended at %v: verdict %d for %v a second later, want pass; map %+v\nsteps: %q", soon.Prefix, soon.End, v, src, entries, l.ops)
		}
	}
	return soon.Prefix.String()
}

// onlyCoveredBy returns a source in p (its first address or one of the
// pool) that no other ban of the jail covers.
func (l *lab) onlyCoveredBy(p netip.Prefix) (netip.Addr, bool) {
	bans := l.jail.Bans()
	for _, a := range append([]netip.Addr{p.Addr()}, modelPool...) {
		if !p.Contains(a) {
			continue
		}
		if !slices.ContainsFunc(bans, func(b jail.Ban) bool { return b.Prefix != p && b.Prefix.Contains(a) }) {
			return a, true
		}
	}
	return netip.Addr{}, false
}
