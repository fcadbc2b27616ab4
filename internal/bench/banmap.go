package bench

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/xdp"
)

// benchBanTime is the length of the bans the benchmarks write. Bans are
// timed, as the jail's are, so a hit pays for reading the clock as it does
// in production.
const benchBanTime = time.Hour

// openBans opens the pinned maps of a datapath loaded into pinDir.
func openBans(pinDir string) (*xdp.Maps, error) {
	m, err := xdp.OpenPinned(pinDir, false)
	if err != nil {
		return nil, fmt.Errorf("open ban map: %w", err)
	}
	return m, nil
}

// fillBans bans banAddr(from) .. banAddr(to-1) through xdp.Maps.BanBatch,
// the path the daemon restores bans with.
func fillBans(m *xdp.Maps, from, to int) error {
	addrs := make([]netip.Addr, 0, to-from)
	for i := from; i < to; i++ {
		addrs = append(addrs, banAddr(i))
	}
	return banAddrs(m, addrs)
}

// banAddrs bans each address for benchBanTime.
func banAddrs(m *xdp.Maps, addrs []netip.Addr) error {
	until := time.Now().Add(benchBanTime)
	specs := make([]xdp.BanSpec, len(addrs))
	for i, a := range addrs {
		specs[i] = xdp.BanSpec{Prefix: netip.PrefixFrom(a, a.BitLen()), Until: until}
	}
	if _, err := m.BanBatch(specs); err != nil {
		return fmt.Errorf("ban %d addresses: %w", len(addrs), err)
	}
	return nil
}
