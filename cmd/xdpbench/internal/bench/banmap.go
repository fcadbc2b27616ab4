package bench

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/xdpban/xdpban/internal/xdp"
)

// benchBanTime is the length of the bans the benchmarks write. Bans are
// timed, as the jail's are, so a hit pays for reading the clock as it does
// in production.
const benchBanTime = time.Hour

// benchDatapath is xdpban loaded into a pin directory of ours, with its
// pinned ban map open the way `xdpban ban` opens it.
type benchDatapath struct {
	*xdp.Datapath
	pinDir string
	bans   *xdp.Maps
}

// loadDatapath loads xdpban with room for maxBans and bans banAddr(0) ..
// banAddr(banned-1). Close removes the program, its maps and the pins.
func loadDatapath(maxBans uint32, banned int) (*benchDatapath, error) {
	pinDir, err := newPinDir()
	if err != nil {
		return nil, err
	}
	d := &benchDatapath{pinDir: pinDir}
	if d.Datapath, err = xdp.Load(xdp.Config{PinDir: d.pinDir, MaxBans: maxBans}); err != nil {
		os.RemoveAll(d.pinDir)
		return nil, err
	}
	if d.bans, err = openBans(d.pinDir); err != nil {
		d.Close()
		return nil, err
	}
	if err := fillBans(d.bans, 0, banned); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the map, unloads the datapath and removes its pins.
func (d *benchDatapath) Close() {
	if d.bans != nil {
		d.bans.Close()
	}
	d.release()
	os.RemoveAll(d.pinDir)
}

// release closes the loaded datapath and its lock on the pin directory,
// keeping the pins and the open ban map: `xdpban ban` writes pins only
// when no daemon holds them, as this lock says one does.
func (d *benchDatapath) release() {
	if d.Datapath != nil {
		d.Datapath.Close()
		d.Datapath = nil
	}
}

// openBans opens the pinned maps of a datapath loaded into pinDir, ours
// or a daemon's.
func openBans(pinDir string) (*xdp.Maps, error) {
	m, err := xdp.OpenPinned(pinDir, false)
	if err != nil {
		return nil, fmt.Errorf("open ban map: %w", err)
	}
	return m, nil
}

// fillBans bans banAddr(from) .. banAddr(to-1) through xdp.BanMap.BanBatch,
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
	if _, err := m.BanMap().BanBatch(specs); err != nil {
		return fmt.Errorf("ban %d addresses: %w", len(addrs), err)
	}
	return nil
}
