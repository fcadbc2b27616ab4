package daemon

import (
	"errors"
	"fmt"
	"time"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
)

// importBans takes bans from `xdpban import` as one batch: into the map
// and the jail as a restore does (no hooks, no ban log line per ban; bans
// that ignoreip covers are dropped), then into the store with their ban
// counts. It answers how many are in force.
func (d *daemon) importBans(req control.Request) (control.Response, error) {
	given, err := control.UnpackBans(req.Packed)
	if err != nil {
		return control.Response{}, err
	}
	bans := ImportedBans(given, time.Now())
	// The ignore rule first, then the map (the set of bans: by the batch
	// for prefixes it holds no ban of, one by one for the others, which
	// keeps their drop counters), then the jail takes what the map holds,
	// as a restore adopts, and the store the counts.
	fresh, held := d.jail.Admitted(bans)
	inForce, err := d.set.BanMany(fresh)
	errs := []error{err}
	for _, b := range held {
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
		return control.Response{Count: restored}, fmt.Errorf("%d bans in force, %d not: %w", restored, len(fresh)+len(held)-restored, err)
	}
	if err := d.store.ImportBans(inForce); err != nil {
		return control.Response{Count: restored}, fmt.Errorf("bans in force, not stored: %w", err)
	}
	d.log.Info("bans imported", "in_force", restored, "given", len(given))
	return control.Response{Count: restored}, nil
}

// ImportedBans is how an import takes the bans it is given, with or
// without the daemon: those already over are dropped, a start in the
// future or missing is now, a missing origin is "imported" and the ban
// count is at least 1.
func ImportedBans(given []jail.Ban, now time.Time) []jail.Ban {
	out := make([]jail.Ban, 0, len(given))
	for _, b := range given {
		if !b.End.IsZero() && !b.End.After(now) {
			continue
		}
		if b.Start.IsZero() || b.Start.After(now) {
			b.Start = now
		}
		if b.Origin == "" {
			b.Origin = originImported
		}
		b.Count = max(b.Count, 1)
		out = append(out, b)
	}
	return out
}

// originImported marks a ban brought in by xdpban import without an
// origin of its own.
const originImported jail.Origin = "imported"
