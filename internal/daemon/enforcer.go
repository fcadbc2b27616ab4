package daemon

import (
	"errors"
	"fmt"
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

	// While restoring, bans go to a batch written in the background.
	// Only restore (single-threaded, before serving) sets it.
	batch *restoreBatch
}

// startBatch begins collecting bans; kernel lists what the map holds.
func (e *xdpEnforcer) startBatch(kernel []jail.Ban) {
	e.batch = newRestoreBatch(e.maps, kernel)
}

// flushBatch writes the collected bans and returns to one-by-one writes.
func (e *xdpEnforcer) flushBatch() error {
	b := e.batch
	e.batch = nil
	return b.finish()
}

func (e *xdpEnforcer) Ban(p netip.Prefix, until time.Time) error {
	if e.batch != nil {
		e.batch.add(p, until)
		return nil
	}
	victim, err := e.banEvicting(p, until)
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
	err := e.maps.BanMap().Unban(p)
	if errors.Is(err, xdp.ErrNotBanned) {
		return nil // expired and removed by the kernel, or unbanned by hand
	}
	return err
}

// banEvicting bans p, first removing the ban that ends soonest (never a
// permanent one) when the map is full.
func (e *xdpEnforcer) banEvicting(p netip.Prefix, until time.Time) (*xdp.Ban, error) {
	bm := e.maps.BanMap()
	err := bm.Ban(p, until)
	if !errors.Is(err, xdp.ErrFull) {
		return nil, err
	}
	victim, found, err := bm.SoonestEnding()
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("ban %s: %w and every ban in it is permanent", p, xdp.ErrFull)
	}
	if err := bm.Unban(victim.Prefix); err != nil && !errors.Is(err, xdp.ErrNotBanned) {
		return nil, err
	}
	return &victim, bm.Ban(p, until)
}

// kernelBans lists the map as jail bans, for reconciliation at start.
func kernelBans(m *xdp.Maps) ([]jail.Ban, error) {
	bans, err := m.Entries() // unsorted: a restart may read a million
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
