package xdp

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// SetPorts changes the protected ports of a running Datapath. The ports
// are constants of the program, so both builds (with and without range
// support) are loaded again on the same maps and the new one replaces
// the old inside every link, as the range switch does: every ban stays,
// and no packet sees neither program. On error nothing changed.
func (d *Datapath) SetPorts(p Ports) error {
	if !p.All && len(p.List) == 0 {
		return fmt.Errorf("set ports: give at least one port, or all")
	}
	// The range lock keeps the range switch out while the builds change.
	d.ranges.mu.Lock()
	defer d.ranges.mu.Unlock()
	cfg := d.cfg
	cfg.Ports = p
	full, err := d.loadVariant(cfg, true)
	if err != nil {
		return fmt.Errorf("set ports: %w", err)
	}
	bare, err := d.loadVariant(cfg, false)
	if err != nil {
		full.Close()
		return fmt.Errorf("set ports: %w", err)
	}
	d.mu.Lock()
	old := d.active.Load()
	want := full
	if old == d.progNoRanges {
		want = bare
	}
	if err := updateLinks(d.links, old, want); err != nil {
		d.mu.Unlock()
		full.Close()
		bare.Close()
		return fmt.Errorf("set ports: %w", err)
	}
	oldFull, oldBare := d.prog, d.progNoRanges
	d.prog, d.progNoRanges, d.cfg = full, bare, cfg
	d.active.Store(want)
	d.mu.Unlock()
	oldFull.Close()
	oldBare.Close()
	// The links enforce the new ports now; the meta map tells status.
	return d.setMetaPorts(p)
}

// updateLinks puts want into every live link; on a failure it puts old
// back into those it had updated.
func updateLinks(links map[string]link.Link, old, want *ebpf.Program) error {
	var done []link.Link
	for name, l := range links {
		// A link whose interface is gone enforces nothing either way; the
		// re-attach puts the active build in when it comes back.
		if err := l.Update(want); err != nil && linkLive(l) {
			for _, u := range done {
				u.Update(old)
			}
			return fmt.Errorf("replace the XDP program on %s: %w", name, err)
		}
		done = append(done, l)
	}
	return nil
}

// setMetaPorts records the ports in the meta map, keeping its other fields.
func (m *Maps) setMetaPorts(p Ports) error {
	var meta xdpbanMeta
	if err := m.meta.Lookup(uint32(0), &meta); err != nil {
		return fmt.Errorf("read %s: %w", xdpbanMapXdpbanMeta, err)
	}
	meta.AllPorts = 0
	if p.All {
		meta.AllPorts = 1
	}
	meta.PortBitmap = p.bitmap()
	if err := m.meta.Put(uint32(0), &meta); err != nil {
		return fmt.Errorf("write %s: %w", xdpbanMapXdpbanMeta, err)
	}
	return m.readMeta()
}
