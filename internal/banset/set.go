package banset

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// Store is the part of the state store a Set keeps its bans in:
// *state.Store (tests hand in one that blocks).
type Store interface {
	ActiveBans() ([]jail.Ban, error)
	SaveBans([]jail.Ban) error
	// PutBan stores b as in force and adds it to the ban history.
	PutBan(b jail.Ban) error
	DeleteBan(p netip.Prefix) error
	BanCount(p netip.Prefix, since time.Time) (int, error)
}

// Set is the set of bans: the pinned ban map and the state store. It is
// the jail's Enforcer and History.
type Set struct {
	bans    *xdp.BanMap
	store   Store
	log     *slog.Logger
	onEvict func()
}

var (
	_ jail.Enforcer = (*Set)(nil)
	_ jail.History  = (*Set)(nil)
)

// New returns the set of bans kept in bans and store. onEvict, if set,
// is called for every ban evicted from a full map.
func New(bans *xdp.BanMap, store Store, log *slog.Logger, onEvict func()) *Set {
	return &Set{bans: bans, store: store, log: log, onEvict: onEvict}
}

// Ban puts b in force in the map, or moves the end of the ban of its
// prefix there, keeping its drop counters. When the map is full it first
// evicts the ban that ends soonest (never a permanent one) and returns
// its prefix. This walks the map, which the jail never holds its lock for.
func (s *Set) Ban(b jail.Ban) (evicted netip.Prefix, err error) {
	err = s.bans.Ban(b.Prefix, b.End)
	if !errors.Is(err, xdp.ErrFull) || s.bans.IsRange(b.Prefix) {
		return netip.Prefix{}, err // a full range trie evicts nobody
	}
	victim, found, err := s.bans.SoonestEnding()
	if err != nil {
		return netip.Prefix{}, err
	}
	if !found {
		return netip.Prefix{}, fmt.Errorf("ban %s: %w and every ban in it is permanent", b.Prefix, xdp.ErrFull)
	}
	if err := s.bans.Unban(victim.Prefix); err != nil && !errors.Is(err, xdp.ErrNotBanned) {
		return netip.Prefix{}, err
	}
	if s.onEvict != nil {
		s.onEvict()
	}
	s.log.Warn("ban map full: evicted the ban ending soonest", "evicted", victim.Prefix, "until", victim.Until, "for", b.Prefix)
	return victim.Prefix, s.bans.Ban(b.Prefix, b.End)
}

// BanMany puts in force bans of prefixes the map holds no entry of (an
// import's new bans) by the batch, a syscall per 64k instead of per ban.
// When the batch fails (the map filled up) the bans go in one by one as
// Ban puts them, evicting to make room; it returns those in force.
func (s *Set) BanMany(bans []jail.Ban) ([]jail.Ban, error) {
	specs := make([]xdp.BanSpec, len(bans))
	for i, b := range bans {
		specs[i] = xdp.BanSpec{Prefix: b.Prefix, Until: b.End}
	}
	if _, err := s.bans.BanBatch(specs); err == nil {
		return bans, nil
	}
	inForce := make([]jail.Ban, 0, len(bans))
	var errs []error
	for _, b := range bans {
		if _, err := s.Ban(b); err != nil {
			errs = append(errs, err)
			continue
		}
		inForce = append(inForce, b)
	}
	return inForce, errors.Join(errs...)
}

// Unban lifts the ban on p in the map. A ban the map does not hold
// (ended and removed by the kernel, or unbanned by hand) fails with
// jail.ErrNotBanned.
func (s *Set) Unban(p netip.Prefix) error {
	err := s.bans.Unban(p)
	if errors.Is(err, xdp.ErrNotBanned) {
		return fmt.Errorf("unban %s: %w", p, jail.ErrNotBanned)
	}
	return err
}

// RecordBan stores b, which the map holds by now, as a ban in force and
// in p's ban history, in one transaction.
func (s *Set) RecordBan(b jail.Ban) error { return s.store.PutBan(b) }

// KeepBans stores the new ends of bans in force (prolonged, or decided
// elsewhere) in one transaction; the map holds them by now.
func (s *Set) KeepBans(bs []jail.Ban) error { return s.store.SaveBans(bs) }

// ForgetBan removes b, which the map no longer holds, from the bans in
// force in the store; its history stays.
func (s *Set) ForgetBan(b jail.Ban) error {
	if err := s.store.DeleteBan(b.Prefix); err != nil {
		s.log.Error("forget ban", "prefix", b.Prefix, "err", err)
		return err
	}
	return nil
}

// BanCount is the store's count of bans of p since since.
func (s *Set) BanCount(p netip.Prefix, since time.Time) (int, error) {
	return s.store.BanCount(p, since)
}

// TakeIfEnded removes the ban on p from the map if it has ended there,
// and reports whether it did; a ban renewed meanwhile stays.
func (s *Set) TakeIfEnded(p netip.Prefix) (bool, error) { return s.bans.TakeIfEnded(p) }

// List returns every entry of the map, soonest end first.
func (s *Set) List() ([]xdp.Ban, error) { return s.bans.Maps().List() }

// Sweep removes the map's entries that have ended (the jail lifts its
// own; this catches entries it does not know and gives their room back)
// and puts in force bans written around xdpban. It logs what it did.
func (s *Set) Sweep() {
	n, recounted, err := s.bans.Sweep()
	if err != nil {
		s.log.Error("sweep expired bans", "err", err)
	} else if n > 0 {
		s.log.Info("expired bans removed", "count", n)
	}
	if recounted > 0 {
		s.log.Warn("bans written to the map around xdpban were not in force until now; use xdpban ban", "count", recounted)
	}
}
