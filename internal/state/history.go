package state

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/xdpban/xdpban/internal/jail"
)

// BanCount returns how many bans of p started at or after since.
func (s *Store) BanCount(p netip.Prefix, since time.Time) (int, error) {
	k, err := prefixKey(p)
	if err != nil {
		return 0, fmt.Errorf("count bans: %w", err)
	}
	n := 0
	err = s.db.View(func(tx *bolt.Tx) error {
		ts, err := decodeTimes(tx.Bucket(bucketHistory).Get(k))
		if err != nil {
			return err
		}
		cut := since.UnixNano()
		i, _ := slices.BinarySearch(ts, cut)
		n = len(ts) - i
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count bans of %v: %w", p, err)
	}
	return n, nil
}

// PutBan stores b as a ban in force and adds its start to the ban
// history of its prefix (for bantime.increment), in one transaction: one
// write and fsync per ban. DeleteBan is its counterpart when the ban
// ends; internal/banset calls both.
func (s *Store) PutBan(b jail.Ban) error {
	k, err := prefixKey(b.Prefix)
	if err != nil {
		return fmt.Errorf("record ban: %w", err)
	}
	start := b.Start.UnixNano()
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketBans).Put(k, encodeBan(b)); err != nil {
			return err
		}
		bk := tx.Bucket(bucketHistory)
		ts, err := decodeTimes(bk.Get(k))
		if err != nil {
			return err
		}
		i, found := slices.BinarySearch(ts, start)
		if found {
			return nil
		}
		ts = slices.Insert(ts, i, start)
		if len(ts) > jail.HistoryLimit {
			ts = ts[len(ts)-jail.HistoryLimit:]
		}
		return bk.Put(k, encodeTimes(ts))
	})
	if err != nil {
		return fmt.Errorf("record ban of %v: %w", b.Prefix, err)
	}
	return nil
}

// PurgeHistory forgets bans that started before before, as fail2ban's
// dbpurgeage does, and returns how many it forgot. The daemon calls it
// periodically with now - dbpurgeage.
func (s *Store) PurgeHistory(before time.Time) (int, error) {
	cut := before.UnixNano()
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		bk := tx.Bucket(bucketHistory)
		// Collect first: bbolt cursors skip items when the bucket changes
		// under them.
		type change struct{ k, v []byte }
		var changes []change
		err := bk.ForEach(func(k, v []byte) error {
			ts, err := decodeTimes(v)
			if err != nil {
				return err
			}
			i, _ := slices.BinarySearch(ts, cut)
			n += i
			switch {
			case i == len(ts):
				changes = append(changes, change{k: slices.Clone(k)})
			case i > 0:
				changes = append(changes, change{slices.Clone(k), encodeTimes(ts[i:])})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.v == nil {
				err = bk.Delete(c.k)
			} else {
				err = bk.Put(c.k, c.v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge history: %w", err)
	}
	return n, nil
}
