package banset

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// Adopter is the jail as Restore needs it.
type Adopter interface {
	// Adopt takes restored bans as they are, calling nothing back.
	Adopt([]jail.Ban)
	// Refuses is the ignoreip rule: a ban of p would ban an ignored address.
	Refuses(netip.Prefix) bool
}

// Restored says what Restore did.
type Restored struct {
	Kept, Dropped     int
	FromStore, InMap  int
	ToKernel, ToUnban int
	AfterReboot       bool
	Took              time.Duration
}

// Restore brings back the bans of the last run (fresh: the map was
// created by this start, the machine rebooted): reconcile the store with
// the map, hand what holds to the jail, give the kernel the bans it
// lacks in one batch, and make the store match. Errors writing the map
// or the store are returned joined after everything was tried: the bans
// that made it stay in force.
func (s *Set) Restore(j Adopter, fresh bool) (Restored, error) {
	// A restore allocates in one burst what the daemon then keeps (a
	// million bans: a few hundred MB); collecting garbage at the default
	// pace during it took a fifth of its time. This runs once, at start,
	// before anything is served.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	stored, err := s.store.ActiveBans()
	if err != nil {
		return Restored{}, fmt.Errorf("read stored bans: %w", err)
	}
	kernel, err := s.kernelBans()
	if err != nil {
		return Restored{}, fmt.Errorf("read pinned bans: %w", err)
	}
	r := reconcile(stored, kernel, fresh, start, j.Refuses)
	j.Adopt(r.keep)
	var errs []error
	if len(r.toKernel) > 0 {
		specs := make([]xdp.BanSpec, len(r.toKernel))
		for i, b := range r.toKernel {
			specs[i] = xdp.BanSpec{Prefix: b.Prefix, Until: b.End}
		}
		if _, err := s.bans.BanBatch(specs); err != nil {
			errs = append(errs, fmt.Errorf("write restored bans to the map: %w", err))
		}
	}
	for _, p := range r.unban {
		if err := s.Unban(p); err != nil && !errors.Is(err, jail.ErrNotBanned) {
			errs = append(errs, err)
		}
	}
	// After a reboot with nothing dropped, store and jail already agree:
	// skip comparing a million entries.
	if !(fresh && len(kernel) == 0 && r.dropped == 0) {
		if err := s.syncStore(stored, r.keep); err != nil {
			errs = append(errs, err)
		}
	}
	return Restored{Kept: len(r.keep), Dropped: r.dropped, FromStore: len(stored), InMap: len(kernel),
		ToKernel: len(r.toKernel), ToUnban: len(r.unban), AfterReboot: fresh, Took: time.Since(start)}, errors.Join(errs...)
}

// kernelBans lists the map's bans in force as jail bans.
func (s *Set) kernelBans() ([]jail.Ban, error) {
	bans, err := s.bans.Maps().Entries() // unsorted: a restart may read a million
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

// syncStore makes the store hold exactly keep: it forgets the stored bans
// that do not hold and saves those it lacks or holds with another end;
// bans it holds as they are are not written again (a million of them
// would cost seconds).
func (s *Set) syncStore(stored, keep []jail.Ban) error {
	kept := make(map[prefixKey]time.Time, len(keep))
	for _, b := range keep {
		kept[keyOf(b.Prefix)] = b.End
	}
	storedEnd := make(map[prefixKey]time.Time, len(stored))
	var errs []error
	for _, b := range stored {
		storedEnd[keyOf(b.Prefix)] = b.End
		if _, ok := kept[keyOf(b.Prefix)]; !ok {
			if err := s.store.DeleteBan(b.Prefix); err != nil {
				errs = append(errs, fmt.Errorf("forget ban %v: %w", b.Prefix, err))
			}
		}
	}
	var save []jail.Ban
	for _, b := range keep {
		if end, ok := storedEnd[keyOf(b.Prefix)]; !ok || !end.Equal(b.End) {
			save = append(save, b)
		}
	}
	if err := s.store.SaveBans(save); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// prefixKey is a flat map key for a prefix: netip.Prefix holds a pointer
// (the zone), which makes million-entry maps slower to fill and to scan.
type prefixKey struct {
	addr [16]byte
	bits int16
}

func keyOf(p netip.Prefix) prefixKey {
	p = p.Masked()
	return prefixKey{addr: p.Addr().As16(), bits: int16(p.Bits())}
}
