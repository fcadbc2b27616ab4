package xdp

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
)

// LinkState is where the program attached for one --iface is in force,
// as the kernel says now.
type LinkState struct {
	// Ifindex is the interface the link is attached to; 0 when there is
	// no link or it is defunct (the kernel clears it when the interface
	// is deleted, or its driver unloaded).
	Ifindex int
	// Current is that interface's name now: another than the configured
	// one after a rename, which the link survives.
	Current string
	// Named is the ifindex of the interface called by the configured name
	// now; 0 when there is none.
	Named int
}

// Enforcing reports whether the program drops banned sources somewhere
// for this --iface: on it, or on it under a new name.
func (s LinkState) Enforcing() bool { return s.Ifindex != 0 }

// LinkState reports how the link of ifname stands.
func (d *Datapath) LinkState(ifname string) LinkState {
	var s LinkState
	if l, err := netlink.LinkByName(ifname); err == nil {
		s.Named = l.Attrs().Index
	}
	// Under mu: Reattach may close the link meanwhile.
	d.mu.Lock()
	var (
		info *link.Info
		err  = errors.New("no link")
	)
	if l := d.links[ifname]; l != nil {
		info, err = l.Info()
	}
	d.mu.Unlock()
	if err != nil || info.XDP() == nil || info.XDP().Ifindex == 0 {
		return s
	}
	s.Ifindex = int(info.XDP().Ifindex)
	s.Current = ifname
	if s.Ifindex != s.Named {
		if nl, err := netlink.LinkByIndex(s.Ifindex); err == nil {
			s.Current = nl.Attrs().Name
		}
	}
	return s
}

// Reattach attaches the program to the interface now called ifname, in
// place of a link that went defunct with the interface it was on (the
// interface was deleted and created again, or its driver reloaded) or
// that follows that interface under a new name. The pinned link is
// replaced only once the new one is attached.
func (d *Datapath) Reattach(ifname string, mode Mode) (Mode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return ModeNone, fmt.Errorf("attach to %q: interface not found", ifname)
	}
	return d.replace(ifname, iface, mode)
}
