package state

import (
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"

	"github.com/xdpban/xdpban/internal/jail"
)

// saveChunk is how many bans SaveBans writes per transaction: big enough
// that a million take a few fsyncs, small enough to bound the dirty pages
// one transaction holds.
const saveChunk = 100000

// SaveBans stores many bans in few transactions, for adopting a kernel
// map's worth of bans at start.
func (s *Store) SaveBans(bs []jail.Ban) error {
	for len(bs) > 0 {
		chunk := bs[:min(len(bs), saveChunk)]
		bs = bs[len(chunk):]
		err := s.db.Update(func(tx *bolt.Tx) error {
			bk := tx.Bucket(bucketBans)
			bk.FillPercent = 0.9 // mostly appended and rarely split again
			for _, b := range chunk {
				k, err := prefixKey(b.Prefix)
				if err != nil {
					return fmt.Errorf("ban %v: %w", b.Prefix, err)
				}
				if err := bk.Put(k, encodeBan(b)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("save bans: %w", err)
		}
	}
	return nil
}

// DeleteBan forgets the ban of p; deleting a ban that is not stored is
// not an error.
func (s *Store) DeleteBan(p netip.Prefix) error {
	k, err := prefixKey(p)
	if err != nil {
		return fmt.Errorf("delete ban: %w", err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBans).Delete(k)
	}); err != nil {
		return fmt.Errorf("delete ban %v: %w", p, err)
	}
	return nil
}

// ActiveBans returns every stored ban, expired ones included: Reconcile
// and jail.Restore decide what still holds.
func (s *Store) ActiveBans() ([]jail.Ban, error) {
	s.mu.Lock()
	opened, openedTx := s.opened, s.openedTx
	s.opened = nil
	s.mu.Unlock()
	var out []jail.Ban
	err := s.db.View(func(tx *bolt.Tx) error {
		if opened != nil && tx.ID() == openedTx {
			out = opened // nothing committed since Open read them
			return nil
		}
		bk := tx.Bucket(bucketBans)
		out = make([]jail.Ban, 0, bk.Stats().KeyN)
		return bk.ForEach(func(k, v []byte) error {
			b, err := decodeBan(k, v)
			if err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read bans: %w", err)
	}
	return out, nil
}
