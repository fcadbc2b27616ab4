package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
)

// restore brings the bans of the last run back, by the rule documented in
// internal/state: the pinned map is the truth while the machine stays up,
// the store after a reboot (when the map was created fresh).
func (d *daemon) restore() error {
	// A restore allocates in one burst what the daemon then keeps (a
	// million bans: a few hundred MB); collecting garbage at the default
	// pace during it took a fifth of its time. This runs once, at start,
	// before anything is served.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
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
	d.logRestoreErrors(err)
	if err := d.enf.flushBatch(); err != nil {
		d.log.Error("write restored bans to the map", "err", err)
	}
	// After a reboot with nothing dropped, store and jail already agree:
	// skip comparing a million entries.
	if !(fresh && len(kernel) == 0 && dropped == 0) {
		d.syncStore(stored, kernel)
	}
	d.log.Info("bans restored", "restored", restored, "dropped", dropped,
		"from_store", len(stored), "from_kernel", len(kernel), "after_reboot", fresh, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// logRestoreErrors logs each ban Restore refused by the ignore rule on a
// line of its own, with the reason, and the rest as one error.
func (d *daemon) logRestoreErrors(err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var other []error
	for _, e := range errs {
		if errors.Is(e, jail.ErrCoversIgnored) {
			d.log.Warn("ban refused", "reason", e)
			continue
		}
		other = append(other, e)
	}
	if len(other) > 0 {
		d.log.Error("some bans could not be restored", "err", errors.Join(other...))
	}
}

// syncStore makes the store match the restored jail. Restore runs no
// hooks, so the store learns here of bans adopted from the kernel, and
// forgets those Restore dropped (expired, or now in ignoreip); bans it
// already holds as they are are not written again (a million of them
// after a reboot would cost seconds). The map, too, loses bans the jail
// refused: from here on the jail is the authority.
func (d *daemon) syncStore(stored, kernel []jail.Ban) {
	active := d.jail.Bans()
	inJail := make(map[prefixKey]bool, len(active))
	for _, b := range active {
		inJail[keyOf(b.Prefix)] = true
	}
	storedEnd := make(map[prefixKey]time.Time, len(stored))
	for _, b := range stored {
		storedEnd[keyOf(b.Prefix)] = b.End
		if !inJail[keyOf(b.Prefix)] {
			if err := d.store.DeleteBan(b.Prefix); err != nil {
				d.log.Error("forget ban", "prefix", b.Prefix, "err", err)
			}
		}
	}
	var save []jail.Ban
	for _, b := range active {
		if end, ok := storedEnd[keyOf(b.Prefix)]; !ok || !end.Equal(b.End) {
			save = append(save, b)
		}
	}
	if err := d.store.SaveBans(save); err != nil {
		d.log.Error("save restored bans", "err", err)
	}
	for _, b := range kernel {
		if !inJail[keyOf(b.Prefix)] {
			d.enf.Unban(b.Prefix)
		}
	}
}

// prefixKey is a flat map key for a prefix: netip.Prefix holds a pointer
// (the zone), which makes million-entry maps slower to fill and to scan.
type prefixKey struct {
	addr [16]byte
	bits int16
}

func keyOf(p netip.Prefix) prefixKey {
	return prefixKey{addr: p.Addr().As16(), bits: int16(p.Bits())}
}
