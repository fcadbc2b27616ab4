package daemon

import (
	"errors"
	"fmt"
	"time"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// importBans takes bans from `xdpban import` as one batch: into the map
// and the jail as a restore does (no hooks, no ban log line per ban; bans
// that ignoreip covers are dropped), then into the store with their ban
// counts. It answers how many are in force.
func (d *daemon) importBans(req control.Request) (control.Response, error) {
	now := time.Now()
	bans := make([]jail.Ban, 0, len(req.Bans))
	for _, b := range req.Bans {
		p, err := xdp.ParseTarget(b.Prefix)
		if err != nil {
			return control.Response{}, err
		}
		if !b.End.IsZero() && !b.End.After(now) {
			continue
		}
		start := b.Start
		if start.IsZero() || start.After(now) {
			start = now
		}
		origin := jail.Origin(b.Origin)
		if origin == "" {
			origin = originImported
		}
		bans = append(bans, jail.Ban{Prefix: p, Start: start, End: b.End, Origin: origin, Count: max(b.Count, 1)})
	}
	// The ignore rule first, then the map (the set of bans, which keeps
	// the drop counters of a ban it holds already), then the jail takes
	// what the map holds, as a restore adopts, and the store the counts.
	bans = d.jail.Admitted(bans)
	inForce := bans[:0]
	var errs []error
	for _, b := range bans {
		if _, err := d.set.Ban(b); err != nil {
			errs = append(errs, err)
			continue
		}
		inForce = append(inForce, b)
	}
	d.jail.Adopt(inForce)
	restored := len(inForce)
	if err := errors.Join(errs...); err != nil {
		d.store.ImportBans(inForce)
		return control.Response{Count: restored}, fmt.Errorf("%d bans in force, %d not: %w", restored, len(errs), err)
	}
	if err := d.store.ImportBans(inForce); err != nil {
		return control.Response{Count: restored}, fmt.Errorf("bans in force, not stored: %w", err)
	}
	d.log.Info("bans imported", "in_force", restored, "given", len(req.Bans))
	return control.Response{Count: restored}, nil
}

// originImported marks a ban brought in by xdpban import without an
// origin of its own.
const originImported jail.Origin = "imported"
