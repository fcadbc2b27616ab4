package banset

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// TestModel drives random sequences of bans (by failures and by hand),
// unbans, expiry in the kernel, the jail's expiry, sweeps, restarts,
// reboots and a full map against the real program, map and store, and
// checks after every step that the jail, the map, its counting filter
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
			for step := range steps {
				op := l.step(rng, step == steps/3)
				l.ops = append(l.ops, op)
				if err := l.check(); err != nil {
					t.Fatalf("after step %d (%s): %v\nsteps: %q", step, op, err, l.ops)
				}
			}
			if l.evicted == 0 {
				t.Error("no step filled the map")
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
	case n < 30:
		for range l.cfg.MaxRetry {
			if _, err := l.jail.Fail(event.Failure{Addr: a, Time: time.Now(), Source: "model"}); err != nil {
				l.t.Fatalf("fail %v: %v", a, err)
			}
		}
		return "failures " + a.String()
	case n < 50:
		d := []time.Duration{time.Second, 2 * time.Second, time.Hour, -1}[rng.IntN(4)]
		p := l.banPrefix(a)
		if _, err := l.jail.BanManual(p, d); err != nil && !errors.Is(err, xdp.ErrFull) && !errors.Is(err, jail.ErrCoversIgnored) {
			l.t.Fatalf("ban %v: %v", p, err)
		}
		return fmt.Sprintf("ban %v %v", p, d)
	case n < 62:
		err := l.jail.Unban(netip.PrefixFrom(a, a.BitLen()))
		if err != nil && !errors.Is(err, jail.ErrNotBanned) {
			l.t.Fatalf("unban %v: %v", a, err)
		}
		return "unban " + a.String()
	case n < 72:
		return "kernel expiry " + l.expireInKernel()
	case n < 80:
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
	// The program keeps time by the tick, which a loaded or virtual
	// machine may deliver late: the ban must end, never early, but
	// may end a little after its second.
	time.Sleep(time.Until(soon.End) + margin)
	for deadline := soon.End.Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		v := l.verdict(soon.Prefix.Addr())
		if v == xdpPass {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := l.dp.Entries()
			l.t.Fatalf("ban %v that ended at %v: verdict %d a second later, want pass; map %+v\nsteps: %q", soon.Prefix, soon.End, v, entries, l.ops)
		}
	}
	return soon.Prefix.String()
}
