package state

import (
	"fmt"
	"net/netip"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/xdpban/xdpban/internal/jail"
)

// AddrHistory is what the store knows of one address: the bans recorded
// for it or for a prefix holding it, and the stored ban in force.
type AddrHistory struct {
	Starts []jail.Ban // one per recorded ban start: Prefix and Start set
	Stored []jail.Ban // stored bans covering the address (ended ones too)
}

// History returns the recorded bans of a and of every prefix holding it,
// oldest first, for `xdpban history`. It reads the whole history once: a
// question asked by hand, not per failure.
func (s *Store) History(a netip.Addr) (AddrHistory, error) {
	a = a.Unmap()
	var h AddrHistory
	err := s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketHistory).ForEach(func(k, v []byte) error {
			p, err := parseKey(k)
			if err != nil || !p.Contains(a) {
				return err
			}
			ts, err := decodeTimes(v)
			if err != nil {
				return err
			}
			for _, t := range ts {
				h.Starts = append(h.Starts, jail.Ban{Prefix: p, Start: jail.FromUnixNano(t)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketBans).ForEach(func(k, v []byte) error {
			p, err := parseKey(k)
			if err != nil || !p.Contains(a) {
				return err
			}
			b, err := decodeBan(k, v)
			if err == nil {
				h.Stored = append(h.Stored, b)
			}
			return err
		})
	})
	if err != nil {
		return AddrHistory{}, fmt.Errorf("read history of %v: %w", a, err)
	}
	sortStarts(h.Starts)
	return h, nil
}

func sortStarts(bs []jail.Ban) {
	slices.SortFunc(bs, func(x, y jail.Ban) int { return x.Start.Compare(y.Start) })
}
