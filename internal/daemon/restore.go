package daemon

import (
	"runtime/debug"
	"time"
)

// restore brings the bans of the last run back through the ban set, by
// the rule documented in internal/banset.
func (d *daemon) restore() error {
	r, err := d.set.Restore(d.jail, d.dp.Fresh())
	if err != nil {
		d.log.Error("some bans could not be restored", "err", err)
	}
	// The restore's burst of garbage (a few hundred MB at a million
	// bans) goes back to the system now rather than whenever the
	// scavenger gets to it.
	debug.FreeOSMemory()
	d.log.Info("bans restored", "restored", r.Kept, "dropped", r.Dropped, "from_store", r.FromStore,
		"from_kernel", r.InMap, "after_reboot", r.AfterReboot, "took", r.Took.Round(time.Millisecond))
	return nil
}
