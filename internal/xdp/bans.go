package xdp

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Ban is one entry of the ban map as userspace sees it.
type Ban struct {
	Prefix  netip.Prefix `json:"prefix"`
	Until   time.Time    `json:"until,omitzero"` // zero: permanent
	Created time.Time    `json:"created"`
	Packets uint64       `json:"packets"` // dropped because of this ban
	Bytes   uint64       `json:"bytes"`
	Expired bool         `json:"expired,omitempty"` // still in the map, no longer enforced
}

// Permanent reports a ban without an end.
func (b Ban) Permanent() bool { return b.Until.IsZero() }

// Remaining is the time left at now; zero for permanent or expired bans.
func (b Ban) Remaining(now time.Time) time.Duration {
	if b.Permanent() || !b.Until.After(now) {
		return 0
	}
	return b.Until.Sub(now)
}

// Entries returns every entry of the ban map, in the map's order, with
// the drops the hit cache still holds for each.
func (m *Maps) Entries() ([]Ban, error) {
	now := nowPair()
	pending, err := m.pendingDrops()
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	var bans []Ban
	err = m.walk(func(k *xdpbanBanKey, v *xdpbanBanValue) {
		v2 := withPending(pending, k, v)
		bans = append(bans, m.banOf(k, &v2, now))
	})
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	ranges, err := m.rangeEntries(now)
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	return append(bans, ranges...), nil
}

func (m *Maps) banOf(k *xdpbanBanKey, v *xdpbanBanValue, now clockPair) Ban {
	return Ban{
		Prefix:  prefixOf(*k, m.ipv6Prefix),
		Until:   now.toWall(v.ExpiresNs),
		Created: now.toWall(v.CreatedNs),
		Packets: v.Packets,
		Bytes:   v.Bytes,
		Expired: v.ExpiresNs != 0 && v.ExpiresNs <= uint64(now.mono),
	}
}

// List returns every entry of the ban map, expired ones first, then by
// end, permanent bans last.
func (m *Maps) List() ([]Ban, error) {
	bans, err := m.Entries()
	slices.SortFunc(bans, compareBans)
	return bans, err
}

func compareBans(a, b Ban) int {
	switch {
	case a.Permanent() != b.Permanent():
		if a.Permanent() {
			return 1
		}
		return -1
	case !a.Until.Equal(b.Until):
		return a.Until.Compare(b.Until)
	}
	return a.Prefix.Addr().Compare(b.Prefix.Addr())
}

// Count is the number of entries in the ban map.
func (m *Maps) Count() (int, error) {
	n := 0
	if err := m.walk(func(*xdpbanBanKey, *xdpbanBanValue) { n++ }); err != nil {
		return n, err
	}
	err := m.walkRanges(func(*xdpbanRangeKey, *xdpbanRangeValue) { n++ })
	return n, err
}
