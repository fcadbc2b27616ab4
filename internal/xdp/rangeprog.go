package xdp

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// The links run one of two builds of the program: with range support, or
// without (range_bans = 0: the verifier removes the range code, so a
// source that is not banned pays nothing for ranges). The Datapath runs
// the one without while the range trie is empty, switches before the
// first range goes in and back once the last is gone, and leaves the one
// with range support attached when it closes, so that `xdpban ban RANGE`
// works without the daemon. A switch replaces the program inside each
// link atomically: no packet sees neither.

// errNoRangeProgram: a daemon that did not stop cleanly left the build
// without range support attached, and only a daemon switches builds.
var errNoRangeProgram = errors.New("the attached XDP program was loaded without range support by a daemon that did not stop cleanly; start `xdpban run` (it switches as ranges come and go) or ban single addresses")

// rangeProgram returns the build the links should run for on.
func (d *Datapath) rangeProgram(on bool) *ebpf.Program {
	if on || d.progNoRanges == nil {
		return d.prog
	}
	return d.progNoRanges
}

// switchRanges puts the build for on into every link. It is called with
// the range maps' lock held, before a range is inserted (on) and after
// the last one was deleted (off).
func (d *Datapath) switchRanges(on bool) error {
	want := d.rangeProgram(on)
	if d.active.Load() == want {
		return nil
	}
	// The meta flag errs on the safe side of a crash in between: it says
	// "without ranges" before that build goes in, and until the full one
	// is in all links.
	if want == d.progNoRanges {
		if err := d.setNoRanges(true); err != nil {
			return err
		}
	}
	d.mu.Lock()
	if err := updateLinks(d.links, d.active.Load(), want); err != nil {
		d.mu.Unlock()
		return fmt.Errorf("switch builds: %w", err)
	}
	d.active.Store(want)
	d.mu.Unlock()
	if want == d.prog {
		return d.setNoRanges(false)
	}
	return nil
}

// ActiveProgram is the build the links run now (make bench times it).
func (d *Datapath) ActiveProgram() *ebpf.Program { return d.active.Load() }

// startRangeSwitch loads the build without range support and chooses the
// one to attach from what the trie holds.
func (d *Datapath) startRangeSwitch() error {
	p, err := d.loadVariant(d.cfg, false)
	if err != nil {
		return err
	}
	d.progNoRanges = p
	n, err := d.RangeCount()
	if err != nil {
		return err
	}
	p = d.rangeProgram(n > 0)
	if err := d.setNoRanges(p == d.progNoRanges); err != nil {
		return err
	}
	d.active.Store(p)
	d.ranges.switchProg = d.switchRanges
	return nil
}

// metaNoRanges is XDPBAN_META_NO_RANGES of bpf/xdpban.h.
const metaNoRanges = uint32(xdpbanXdpbanConstXDPBAN_META_NO_RANGES)

// setNoRanges records in the meta map whether the links run the build
// without range support, for writers without the daemon to check.
func (m *Maps) setNoRanges(on bool) error {
	var meta xdpbanMeta
	if err := m.meta.Lookup(uint32(0), &meta); err != nil {
		return fmt.Errorf("read %s: %w", xdpbanMapXdpbanMeta, err)
	}
	if on {
		meta.Flags |= metaNoRanges
	} else {
		meta.Flags &^= metaNoRanges
	}
	if err := m.meta.Put(uint32(0), &meta); err != nil {
		return fmt.Errorf("write %s: %w", xdpbanMapXdpbanMeta, err)
	}
	return nil
}

// checkRangesEnforced is for writers without the daemon: it refuses a
// range ban while the links run the build without range support.
func (m *Maps) checkRangesEnforced() error {
	var meta xdpbanMeta
	if err := m.meta.Lookup(uint32(0), &meta); err != nil {
		return fmt.Errorf("read %s: %w", xdpbanMapXdpbanMeta, err)
	}
	if meta.Flags&metaNoRanges != 0 {
		return errNoRangeProgram
	}
	return nil
}

// linkLive reports whether l is still attached to an interface.
func linkLive(l link.Link) bool {
	info, err := l.Info()
	return err == nil && info.XDP() != nil && info.XDP().Ifindex != 0
}
