package daemon

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// xdpEnforcer puts the jail's decisions into the ban map. When the map is
// full it evicts the ban that ends soonest: a flood of new attackers must
// not stop new bans, and an LRU map would evict silently instead.
type xdpEnforcer struct {
	maps    *xdp.Maps
	log     *slog.Logger
	evicted atomic.Uint64
	onEvict func()

	// While restoring, bans are collected and written in batches; those the
	// kernel already holds with the same end are left alone, so their drop
	// counters survive a restart. Only restore (single-threaded) sets these.
	batching bool
	batch    []xdp.BanSpec
	inKernel map[netip.Prefix]time.Time
}

// startBatch begins collecting bans; kernel lists what the map holds.
func (e *xdpEnforcer) startBatch(kernel []jail.Ban, expect int) {
	e.batching = true
	e.batch = make([]xdp.BanSpec, 0, expect)
	e.inKernel = make(map[netip.Prefix]time.Time, len(kernel))
	for _, b := range kernel {
		e.inKernel[b.Prefix] = b.End
	}
}

// flushBatch writes the collected bans and returns to one-by-one writes.
func (e *xdpEnforcer) flushBatch() error {
	batch := e.batch
	e.batching, e.batch, e.inKernel = false, nil, nil
	_, err := e.maps.BanBatch(batch)
	return err
}

func (e *xdpEnforcer) Ban(p netip.Prefix, until time.Time) error {
	if e.batching {
		if end, ok := e.inKernel[p]; ok && end.Sub(until).Abs() < time.Millisecond {
			return nil
		}
		e.batch = append(e.batch, xdp.BanSpec{Prefix: p, Until: until})
		return nil
	}
	victim, err := e.maps.BanEvicting(p, until)
	if victim != nil {
		e.evicted.Add(1)
		if e.onEvict != nil {
			e.onEvict()
		}
		e.log.Warn("ban map full: evicted the ban ending soonest", "evicted", victim.Prefix, "until", victim.Until, "for", p)
	}
	return err
}

func (e *xdpEnforcer) Unban(p netip.Prefix) error {
	err := e.maps.Unban(p)
	if errors.Is(err, xdp.ErrNotBanned) {
		return nil // expired and removed by the kernel, or unbanned by hand
	}
	return err
}

// kernelBans lists the map as jail bans, for reconciliation at start.
func kernelBans(m *xdp.Maps) ([]jail.Ban, error) {
	bans, err := m.List()
	if err != nil {
		return nil, err
	}
	out := make([]jail.Ban, 0, len(bans))
	for _, b := range bans {
		if b.Expired {
			continue
		}
		out = append(out, jail.Ban{Prefix: b.Prefix, Start: b.Created, End: b.Until, Origin: jail.OriginRestored, Count: 1})
	}
	return out, nil
}
