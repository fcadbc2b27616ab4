package state

import (
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"
)

// bucketIgnore holds the ignoreip entries added at runtime (`xdpban
// ignore add`), kept apart from the configured ones, which the config
// file owns.
var bucketIgnore = []byte("ignoreip")

// IgnoreIP returns the runtime ignoreip entries.
func (s *Store) IgnoreIP() ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := s.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketIgnore)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, _ []byte) error {
			p, err := parseKey(k)
			if err == nil {
				out = append(out, p)
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read runtime ignoreip: %w", err)
	}
	return out, nil
}

// AddIgnoreIP keeps p as a runtime ignoreip entry.
func (s *Store) AddIgnoreIP(p netip.Prefix) error {
	k, err := prefixKey(p)
	if err != nil {
		return fmt.Errorf("add ignoreip: %w", err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketIgnore)
		if err != nil {
			return err
		}
		return bk.Put(k, []byte{1}) // bbolt cannot tell an empty value from none
	}); err != nil {
		return fmt.Errorf("add ignoreip %v: %w", p, err)
	}
	return nil
}

// DelIgnoreIP forgets the runtime ignoreip entry p and reports whether
// there was one.
func (s *Store) DelIgnoreIP(p netip.Prefix) (bool, error) {
	k, err := prefixKey(p)
	if err != nil {
		return false, fmt.Errorf("delete ignoreip: %w", err)
	}
	found := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketIgnore)
		if bk == nil {
			return nil
		}
		if found = bk.Get(k) != nil; !found {
			return nil
		}
		return bk.Delete(k)
	})
	if err != nil {
		return false, fmt.Errorf("delete ignoreip %v: %w", p, err)
	}
	return found, nil
}
