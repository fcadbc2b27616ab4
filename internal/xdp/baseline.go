package xdp

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// noRangesName is the kernel name of the program built without range
// support, so that a look at a pinned link tells which one runs.
const noRangesName = "xdpban_norange"

// ProgramWithoutRanges loads the datapath's program once more, on the
// same maps, with range bans compiled out (range_bans = 0: the verifier
// drops that code). It is make bench's baseline for what range bans cost
// a source that is not banned. The caller closes it.
func (d *Datapath) ProgramWithoutRanges() (*ebpf.Program, error) {
	return d.loadVariant(d.cfg, false)
}

// loadVariant loads the program with or without range support on the
// Datapath's maps, with the constants of cfg.
func (d *Datapath) loadVariant(cfg Config, ranges bool) (*ebpf.Program, error) {
	spec, err := loadXdpban()
	if err != nil {
		return nil, err
	}
	if err := setConstants(spec, cfg, d.clock, d.filterBits); err != nil {
		return nil, err
	}
	if !ranges {
		if err := spec.Variables[xdpbanVarRangeBans].Set(uint32(0)); err != nil {
			return nil, fmt.Errorf("set %s: %w", xdpbanVarRangeBans, err)
		}
		spec.Programs[xdpbanProgXdpban].Name = noRangesName
	}
	spec.Maps[xdpbanMapXdpbanBans].MaxEntries = d.maxBans
	spec.Maps[xdpbanMapXdpbanFilter].ValueSize = 1 << d.filterBits
	spec.Maps[rangeCountSection] = mmapableSpec(spec, rangeCountSection)
	spec.Maps[hitGenSection] = mmapableSpec(spec, hitGenSection)
	repl := map[string]*ebpf.Map{
		xdpbanMapXdpbanBans: d.bans, xdpbanMapXdpbanStats: d.stats, xdpbanMapXdpbanMeta: d.meta,
		xdpbanMapXdpbanFilter: d.filterMap, xdpbanMapXdpbanRanges: d.ranges.trie, rangeCountSection: d.ranges.count,
		xdpbanMapXdpbanHits: d.hits, hitGenSection: d.gen.m,
	}
	var objs struct {
		Xdpban *ebpf.Program `ebpf:"xdpban"`
	}
	if err := spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: repl}); err != nil {
		return nil, loadError(err)
	}
	return objs.Xdpban, nil
}
