package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Datapath is the loaded program with its maps and links, owned by the
// daemon. Closing it leaves the pins, so enforcement goes on without us.
type Datapath struct {
	*Maps
	prog  *ebpf.Program
	lock  *os.File
	mu    sync.Mutex // guards links: the daemon re-attaches while scrapes read
	links map[string]link.Link
	fresh bool // this Load created the pin directory
	cfg   Config
	clock jiffyClock
	// log2 of the counting filter's slots, a constant of the program.
	filterBits int
	// The program that reads the kernel's clocks, for ClockDrift.
	clockSpec *ebpf.ProgramSpec
	// The build without range support (see rangeprog.go), and the build
	// the links run now.
	progNoRanges *ebpf.Program
	active       atomic.Pointer[ebpf.Program]
}

// Load loads the program with cfg, reusing the maps pinned under
// cfg.PinDir (bans made before a restart stay in force) or creating them.
// It takes the pin directory's lock for as long as the Datapath is open.
func Load(cfg Config) (*Datapath, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := requireCaps("load xdp program", daemonCaps); err != nil {
		return nil, err
	}
	if err := checkBPFFS(cfg.PinDir); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(cfg.PinDir)
	fresh := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(cfg.PinDir, 0o700); err != nil {
		return nil, permissionHint("create pin directory", err)
	}
	lock, err := lockDir(cfg.PinDir)
	if err != nil {
		return nil, err
	}
	d, err := load(cfg, lock)
	if err != nil {
		lock.Close()
		if fresh {
			os.RemoveAll(cfg.PinDir)
		}
		return nil, err
	}
	d.fresh = fresh
	return d, nil
}

func load(cfg Config, lock *os.File) (*Datapath, error) {
	spec, err := loadXdpban()
	if err != nil {
		return nil, err
	}
	// The pinned layout is settled before anything is loaded or pinned:
	// an older xdpban's pins are refused, never added to.
	version, err := pinnedLayout(cfg.PinDir)
	if err != nil {
		return nil, err
	}
	if version != 0 {
		if err := checkLayout(version); err != nil {
			return nil, err
		}
	}
	clock, err := calibrateClock(spec.Programs[xdpbanProgXdpbanClock])
	if err != nil {
		return nil, err
	}
	maxBans, err := pinnedCapacity(cfg)
	if err != nil {
		return nil, err
	}
	spec.Maps[xdpbanMapXdpbanBans].MaxEntries = maxBans
	filterBits, err := pinnedFilterBits(cfg.PinDir, maxBans)
	if err != nil {
		return nil, err
	}
	spec.Maps[xdpbanMapXdpbanFilter].ValueSize = 1 << filterBits
	if err := setConstants(spec, cfg, clock, filterBits); err != nil {
		return nil, err
	}

	// The data sections userspace maps carry no pinning flag: their pins
	// are reused by hand, or made after the load.
	opts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: cfg.PinDir}, MapReplacements: map[string]*ebpf.Map{}}
	sections := []struct{ section, pin, what string }{
		{rangeCountSection, rangeCountPin, "the range count"},
		{hitGenSection, hitGenPin, "the hit generation"},
	}
	for _, s := range sections {
		spec.Maps[s.section] = mmapableSpec(spec, s.section)
		pinned, err := ebpf.LoadPinnedMap(filepath.Join(cfg.PinDir, s.pin), nil)
		switch {
		case err == nil:
			defer pinned.Close()
			opts.MapReplacements[s.section] = pinned
		case !errors.Is(err, os.ErrNotExist):
			return nil, permissionHint("open the pinned "+s.what, err)
		}
	}

	// Only the datapath: xdpban_clock has done its job.
	var objs struct {
		Xdpban     *ebpf.Program `ebpf:"xdpban"`
		RangeCount *ebpf.Map     `ebpf:".data.xdpban_nranges"`
		HitGen     *ebpf.Map     `ebpf:".data.xdpban_gen"`
		xdpbanMaps
	}
	if err := spec.LoadAndAssign(&objs, opts); err != nil {
		return nil, loadError(err)
	}
	loaded := map[string]*ebpf.Map{rangeCountSection: objs.RangeCount, hitGenSection: objs.HitGen}
	for _, s := range sections {
		if opts.MapReplacements[s.section] != nil {
			continue
		}
		if err := loaded[s.section].Pin(filepath.Join(cfg.PinDir, s.pin)); err != nil {
			objs.RangeCount.Close()
			objs.HitGen.Close()
			objs.Xdpban.Close()
			objs.xdpbanMaps.Close()
			return nil, permissionHint("pin "+s.what, err)
		}
	}
	d := &Datapath{
		cfg:        cfg,
		clock:      clock,
		filterBits: filterBits,
		Maps: &Maps{bans: objs.XdpbanBans, stats: objs.XdpbanStats, meta: objs.XdpbanMeta,
			filterMap: objs.XdpbanFilter, hits: objs.XdpbanHits, pinDir: cfg.PinDir},
		prog:      objs.Xdpban,
		clockSpec: spec.Programs[xdpbanProgXdpbanClock],
		lock:      lock,
		links:     map[string]link.Link{},
	}
	if d.gen, err = openHitGen(objs.HitGen, true); err != nil {
		objs.HitGen.Close()
		objs.XdpbanRanges.Close()
		objs.RangeCount.Close()
		d.Close()
		return nil, err
	}
	if err := d.mapFilter(); err != nil {
		objs.XdpbanRanges.Close()
		objs.RangeCount.Close()
		d.Close()
		return nil, err
	}
	if d.ranges, err = openRanges(objs.XdpbanRanges, objs.RangeCount, true); err != nil {
		objs.XdpbanRanges.Close()
		objs.RangeCount.Close()
		d.Close()
		return nil, err
	}
	if err := d.checkPrefixChange(cfg); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.writeMeta(cfg); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.startRangeSwitch(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// pinnedCapacity decides the ban map size: an existing pin keeps its size
// unless the user asked for a different one, which needs a fresh map.
func pinnedCapacity(cfg Config) (uint32, error) {
	old, err := ebpf.LoadPinnedMap(filepath.Join(cfg.PinDir, xdpbanMapXdpbanBans), &ebpf.LoadPinOptions{ReadOnly: true})
	if errors.Is(err, os.ErrNotExist) {
		if cfg.MaxBans == 0 {
			return DefaultMaxBans, nil
		}
		return cfg.MaxBans, nil
	}
	if err != nil {
		return 0, permissionHint("open pinned ban map", err)
	}
	defer old.Close()
	info, err := old.Info()
	if err != nil {
		return 0, fmt.Errorf("read pinned ban map: %w", err)
	}
	if cfg.MaxBans != 0 && cfg.MaxBans != info.MaxEntries {
		return 0, fmt.Errorf("the pinned ban map holds %d bans, --max-bans asks for %d: %w (keep the old size, or run `xdpban detach` to start over without the current bans)",
			info.MaxEntries, cfg.MaxBans, ErrIncompatible)
	}
	return info.MaxEntries, nil
}

// pinnedFilterBits sizes the counting filter: a pinned one keeps its size
// (the program must match the filter the other pins count in), a new one
// is sized for the ban map's capacity. The filter is made anew with the
// ban map, when --max-bans changes or after `xdpban detach`.
func pinnedFilterBits(pinDir string, maxBans uint32) (int, error) {
	old, err := ebpf.LoadPinnedMap(filterPin(pinDir), &ebpf.LoadPinOptions{ReadOnly: true})
	if errors.Is(err, os.ErrNotExist) {
		return filterBitsFor(maxBans), nil
	}
	if err != nil {
		return 0, permissionHint("open the pinned ban filter", err)
	}
	defer old.Close()
	return filterBitsOf(old.ValueSize())
}

func setConstants(spec *ebpf.CollectionSpec, cfg Config, clock jiffyClock, filterBits int) error {
	var all, orderLoads uint32
	if cfg.Ports.All {
		all = 1
	}
	if !ordersLoads() {
		orderLoads = 1
	}
	for name, v := range map[string]any{
		xdpbanVarAllPorts:    all,
		xdpbanVarPortBitmap:  cfg.Ports.bitmap(),
		xdpbanVarIpv6Mask:    ipv6Mask(cfg.IPv6Prefix),
		xdpbanVarClockTickNs: clock.tickNs,
		xdpbanVarClockBaseNs: clock.baseNs,
		xdpbanVarFilterShift: uint32(32 - filterBits),
		xdpbanVarHitTtlNs:    uint64(cfg.HitTTL),
		xdpbanVarOrderLoads:  orderLoads,
	} {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// checkPrefixChange refuses a new IPv6 ban prefix while the map still holds
// keys masked with the old one: they would silently stop matching.
func (d *Datapath) checkPrefixChange(cfg Config) error {
	var meta xdpbanMeta
	if err := d.meta.Lookup(uint32(0), &meta); err != nil || meta.LayoutVersion == 0 {
		return nil // fresh map: nothing to compare (load checked the layout)
	}
	if int(meta.Ipv6Prefix) == cfg.IPv6Prefix {
		return nil
	}
	hasV6 := false
	err := d.walk(func(k *xdpbanBanKey, _ *xdpbanBanValue) {
		hasV6 = hasV6 || !netip.AddrFrom16(k.Addr).Is4In6()
	})
	if err != nil {
		return err
	}
	// An IPv6 range as long as the new prefix or longer would match no
	// masked source any more.
	err = d.walkRanges(func(k *xdpbanRangeKey, _ *xdpbanRangeValue) {
		hasV6 = hasV6 || (!netip.AddrFrom16(k.Addr).Is4In6() && int(k.Prefixlen) >= cfg.IPv6Prefix)
	})
	if err != nil {
		return err
	}
	if hasV6 {
		return fmt.Errorf("the pinned map holds IPv6 bans per /%d, --ipv6-prefix is %d: %w (keep --ipv6-prefix %d, or unban the IPv6 entries first)",
			meta.Ipv6Prefix, cfg.IPv6Prefix, ErrIncompatible, meta.Ipv6Prefix)
	}
	return nil
}

// loadError explains the ways loading fails in words an operator can act on.
func loadError(err error) error {
	var verr *ebpf.VerifierError
	switch {
	case errors.Is(err, ebpf.ErrMapIncompatible):
		return fmt.Errorf("load xdp program: %w: %v (run `xdpban detach` to remove the old pins, which drops the bans, then start again)", ErrIncompatible, err)
	case errors.As(err, &verr):
		return fmt.Errorf("load xdp program: verifier rejected it: %+v", verr)
	case errors.Is(err, ebpf.ErrNotSupported):
		return fmt.Errorf("load xdp program: %w (needs Linux 5.9 or later with BPF links and BTF)", err)
	}
	return permissionHint("load xdp program", err)
}

// Abandon closes the Datapath after a failed start. Pins that this Load
// created are removed, so a start that fails leaves nothing behind; pins
// of an earlier run stay, with their bans.
func (d *Datapath) Abandon() error {
	err := d.Close()
	if d.fresh {
		err = errors.Join(err, os.RemoveAll(d.pinDir))
	}
	return err
}

// Close releases the daemon's descriptors and the lock. Pinned maps and
// links stay, so the kernel keeps dropping and expiring.
func (d *Datapath) Close() error {
	var errs []error
	// Leave the build with range support in the links: without the daemon
	// nobody switches, and `xdpban ban RANGE` must still be enforced.
	if d.ranges != nil && d.ranges.switchProg != nil {
		d.ranges.mu.Lock()
		errs = append(errs, d.switchRanges(true))
		d.ranges.switchProg = nil
		d.ranges.mu.Unlock()
	}
	d.mu.Lock()
	for _, l := range d.links {
		errs = append(errs, l.Close())
	}
	d.mu.Unlock()
	if d.prog != nil {
		errs = append(errs, d.prog.Close())
	}
	if d.progNoRanges != nil {
		errs = append(errs, d.progNoRanges.Close())
	}
	errs = append(errs, d.Maps.Close())
	if d.lock != nil {
		errs = append(errs, d.lock.Close())
	}
	return errors.Join(errs...)
}

// Fresh reports whether this Load created the pins, i.e. no earlier run
// left bans in the kernel (first start, or the first start after a reboot).
func (d *Datapath) Fresh() bool { return d.fresh }
