package state

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketPartners holds the listener's known partners: address (16 bytes,
// IPv4 mapped) → last completed mTLS handshake (Unix ns, 8 bytes).
var bucketPartners = []byte("partners")

// SavePartners replaces the stored known partners with seen.
func (s *Store) SavePartners(seen map[netip.Addr]time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPartners) != nil {
			if err := tx.DeleteBucket(bucketPartners); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket(bucketPartners)
		if err != nil {
			return err
		}
		for a, t := range seen {
			k := a.As16()
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], uint64(t.UnixNano()))
			if err := b.Put(k[:], v[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save known partners: %w", err)
	}
	return nil
}

// Partners returns the stored known partners. Records it cannot read are
// skipped: losing a partner's standing costs it only its priority.
func (s *Store) Partners() (map[netip.Addr]time.Time, error) {
	out := map[netip.Addr]time.Time{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPartners)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 16 || len(v) != 8 {
				return nil
			}
			a := netip.AddrFrom16([16]byte(k)).Unmap()
			out[a] = time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read known partners: %w", err)
	}
	return out, nil
}
