package banset

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// Adopter is the jail as Restore needs it.
type Adopter interface {
	// Adopt takes restored bans as they are, calling nothing back.
	Adopt([]jail.Ban)
	// Refuser returns the ignore rule: an error when a ban of a prefix
	// would ban an ignored address.
	Refuser() func(netip.Prefix) error
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
	start := time.Now()
	stored, err := s.store.ActiveBans()
	if err != nil {
		return Restored{}, fmt.Errorf("read stored bans: %w", err)
	}
	kernel, err := s.kernelBans()
	if err != nil {
		return Restored{}, fmt.Errorf("read pinned bans: %w", err)
	}
	nStored := len(stored)
	r := reconcile(stored, kernel, fresh, start, s.bans.Maps().IPv6Prefix(), j.Refuser())
	for _, err := range r.refused {
		s.log.Warn("ban refused", "reason", err)
	}
	if n := r.fit(int(s.bans.Maps().MaxBans())); n > 0 {
		s.log.Warn("more bans to restore than the ban map holds: dropped those ending soonest; raise --max-bans", "dropped", n)
	}
	// The kernel's batch insert is system calls and the jail's adoption
	// is memory: on two cores they take the time of one. Nothing is
	// served before both are done.
	inserted := make(chan error, 1)
	go func() { inserted <- s.insert(r.toKernel) }()
	j.Adopt(r.keep)
	var errs []error
	if err := <-inserted; err != nil {
		errs = append(errs, err)
	}
	for _, p := range r.unban {
		if err := s.Unban(p); err != nil && !errors.Is(err, jail.ErrNotBanned) {
			errs = append(errs, err)
		}
	}
	if err := s.syncStore(r); err != nil {
		errs = append(errs, err)
	}
	return Restored{Kept: len(r.keep), Dropped: r.dropped, FromStore: nStored, InMap: len(kernel),
		ToKernel: len(r.toKernel), ToUnban: len(r.unban), AfterReboot: fresh, Took: time.Since(start)}, errors.Join(errs...)
}

// insert writes bans the map lacks in batches.
func (s *Set) insert(bans []jail.Ban) error {
	if len(bans) == 0 {
		return nil
	}
	specs := make([]xdp.BanSpec, len(bans))
	for i, b := range bans {
		specs[i] = xdp.BanSpec{Prefix: b.Prefix, Until: b.End}
	}
	if _, err := s.bans.BanBatch(specs); err != nil {
		return fmt.Errorf("write restored bans to the map: %w", err)
	}
	return nil
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

// syncStore makes the store hold exactly what reconcile kept.
func (s *Set) syncStore(r reconciled) error {
	var errs []error
	for _, p := range r.forget {
		if err := s.store.DeleteBan(p); err != nil {
			errs = append(errs, fmt.Errorf("forget ban %v: %w", p, err))
		}
	}
	if err := s.store.SaveBans(r.save); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
