package daemon

import (
	"fmt"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
)

// restore brings the bans of the last run back, by the rule documented in
// internal/state: the pinned map is the truth while the machine stays up,
// the store after a reboot (when the map was created fresh).
func (d *daemon) restore() error {
	stored, err := d.store.ActiveBans()
	if err != nil {
		return fmt.Errorf("read stored bans: %w", err)
	}
	var kernel []jail.Ban
	fresh := true
	if d.dp != nil {
		if kernel, err = kernelBans(d.dp.Maps); err != nil {
			return fmt.Errorf("read pinned bans: %w", err)
		}
		fresh = d.dp.Fresh()
	}
	start := time.Now()
	keep, _ := state.Reconcile(stored, kernel, fresh, start)
	d.enf.startBatch(kernel)
	restored, dropped, err := d.jail.Restore(keep)
	if err != nil {
		d.log.Error("some bans could not be restored", "err", err)
	}
	if err := d.enf.flushBatch(); err != nil {
		d.log.Error("write restored bans to the map", "err", err)
	}
	// Restore runs no hooks: the store learns of adopted bans here, and
	// forgets those Restore dropped (expired, or now in ignoreip).
	if err := d.store.SaveBans(d.jail.Bans()); err != nil {
		d.log.Error("save restored bans", "err", err)
	}
	active := map[string]bool{}
	for _, b := range d.jail.Bans() {
		active[b.Prefix.String()] = true
	}
	for _, b := range stored {
		if !active[b.Prefix.String()] {
			d.store.DeleteBan(b.Prefix)
		}
	}
	// The map may hold bans the jail refused (ignoreip now covers them, or
	// they expired): the jail is the authority from here on.
	for _, b := range kernel {
		if !active[b.Prefix.String()] {
			d.enf.Unban(b.Prefix)
		}
	}
	d.log.Info("bans restored", "restored", restored, "dropped", dropped,
		"from_store", len(stored), "from_kernel", len(kernel), "after_reboot", fresh, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
