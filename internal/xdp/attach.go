package xdp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Mode is how the program is attached to an interface.
type Mode string

const (
	ModeAuto    Mode = "auto"    // native where the driver supports it, else generic
	ModeNative  Mode = "native"  // in the driver, before an skb exists
	ModeGeneric Mode = "generic" // after the skb is built; works everywhere, slower
	ModeOffload Mode = "offload" // on the NIC (reported only)
	ModeNone    Mode = "none"    // not attached
	ModeUnknown Mode = "unknown" // the interface is in another network namespace
)

// ParseMode reads --xdp-mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case ModeAuto, ModeNative, ModeGeneric:
		return m, nil
	case "":
		return ModeAuto, nil
	}
	return "", fmt.Errorf("xdp-mode %q: use auto, native or generic", s)
}

// Attach attaches the program to ifname through a pinned BPF link. When a
// link from an earlier run is pinned, the program in it is replaced
// atomically, so there is no moment without enforcement. It returns the
// mode in force; with ModeAuto a fallback to generic is reported through
// the returned mode, for the caller to warn about.
func (d *Datapath) Attach(ifname string, mode Mode) (Mode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return ModeNone, fmt.Errorf("attach to %q: interface not found (list them with `ip link`)", ifname)
	}
	if l, err := link.LoadPinnedLink(linkPinPath(d.pinDir, ifname), nil); err == nil {
		if d.reuse(l, iface.Index) {
			d.links[ifname] = l
			return interfaceMode(iface.Index), nil
		}
		// A link of a vanished or renamed interface: replace it.
		d.links[ifname] = l
	}
	return d.replace(ifname, iface, mode)
}

// replace attaches a new link to iface and pins it in place of the link
// held for ifname, if any. The old link and its pin go only once the new
// one is attached: when attaching fails, the pin still says where the
// program was, so status (even without a daemon) shows it defunct instead
// of forgetting the interface. Called with mu held.
func (d *Datapath) replace(ifname string, iface *net.Interface, mode Mode) (Mode, error) {
	l, got, err := attachNew(d, iface, mode)
	if err != nil {
		return ModeNone, err
	}
	path := linkPinPath(d.pinDir, ifname)
	if old := d.links[ifname]; old != nil {
		old.Unpin()
		old.Close()
	}
	os.Remove(path) // a pin that did not load as a link
	// From here the new link is in force while we hold it, pinned or not.
	d.links[ifname] = l
	if err := l.Pin(path); err != nil {
		return got, permissionHint("pin link for "+ifname, err)
	}
	return got, nil
}

// reuse updates a pinned link to the new program if it still belongs to
// the interface with this index.
func (d *Datapath) reuse(l link.Link, ifindex int) bool {
	info, err := l.Info()
	if err != nil || info.XDP() == nil || int(info.XDP().Ifindex) != ifindex {
		return false
	}
	return l.Update(d.ActiveProgram()) == nil
}

func attachNew(d *Datapath, iface *net.Interface, mode Mode) (link.Link, Mode, error) {
	try := func(flags link.XDPAttachFlags) (link.Link, error) {
		return link.AttachXDP(link.XDPOptions{Program: d.ActiveProgram(), Interface: iface.Index, Flags: flags})
	}
	var l link.Link
	var err error
	got := mode
	switch mode {
	case ModeNative:
		l, err = try(link.XDPDriverMode)
	case ModeGeneric:
		l, err = try(link.XDPGenericMode)
	default:
		got = ModeNative
		if l, err = try(link.XDPDriverMode); err != nil && !errors.Is(err, unix.EBUSY) {
			got = ModeGeneric
			l, err = try(link.XDPGenericMode)
		}
	}
	switch {
	case errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST):
		return nil, ModeNone, fmt.Errorf("attach to %s: another XDP program is attached (remove it with `ip link set dev %s xdp off`, or `xdpban detach` if it is ours)", iface.Name, iface.Name)
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL):
		return nil, ModeNone, fmt.Errorf("attach to %s in %s mode: %w (the driver may not support it; try --xdp-mode generic)", iface.Name, mode, err)
	case err != nil:
		return nil, ModeNone, permissionHint("attach to "+iface.Name, err)
	}
	return l, got, nil
}

// interfaceMode asks the kernel how XDP is attached to an interface.
func interfaceMode(ifindex int) Mode {
	l, err := netlink.LinkByIndex(ifindex)
	if err != nil || l.Attrs().Xdp == nil || !l.Attrs().Xdp.Attached {
		return ModeNone
	}
	switch l.Attrs().Xdp.AttachMode {
	case nl.XDP_ATTACHED_DRV:
		return ModeNative
	case nl.XDP_ATTACHED_SKB:
		return ModeGeneric
	case nl.XDP_ATTACHED_HW:
		return ModeOffload
	}
	return ModeNone
}

// Interface is one attachment as status reports it.
type Interface struct {
	Name    string `json:"name"`    // as pinned
	Ifindex int    `json:"ifindex"` // 0 when the interface is gone
	Current string `json:"current"` // the interface's name now
	Mode    Mode   `json:"mode"`    // as the kernel reports it
	Defunct bool   `json:"defunct"` // the link no longer drops anything
	// Attached: the program of this link is in force on the interface
	// (not defunct); when the interface is in this namespace, its XDP
	// program id is the link's.
	Attached bool `json:"attached"`
	// Counters of packets received on this interface (filled by callers
	// that hold the maps; nil otherwise).
	Counters *Counters `json:"counters,omitempty"`
}

// Interfaces lists the pinned links and what the kernel says of them.
func Interfaces(pinDir string) ([]Interface, error) {
	names, err := pinnedLinkNames(pinDir)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []Interface
	for _, name := range names {
		it := Interface{Name: name, Mode: ModeNone, Defunct: true}
		l, err := link.LoadPinnedLink(linkPinPath(pinDir, name), nil)
		if err == nil {
			if info, err := l.Info(); err == nil && info.XDP() != nil && info.XDP().Ifindex != 0 {
				// The kernel clears the ifindex when the interface goes
				// away, and while a link holds an interface's XDP hook no
				// other program can take it: the link is in force.
				it.Ifindex = int(info.XDP().Ifindex)
				it.Defunct = false
				it.Attached = true
				it.Mode = ModeUnknown
				// An ifindex is per network namespace: the interface of
				// that index here is ours only if it runs our program.
				if nl, err := netlink.LinkByIndex(it.Ifindex); err == nil && runs(nl, info.Program) {
					it.Current = nl.Attrs().Name
					it.Mode = interfaceMode(it.Ifindex)
				}
			}
			l.Close()
		}
		out = append(out, it)
	}
	return out, nil
}

// runs reports whether the interface runs the program with this id.
func runs(l netlink.Link, prog ebpf.ProgramID) bool {
	x := l.Attrs().Xdp
	return x != nil && x.Attached && ebpf.ProgramID(x.ProgId) == prog
}

// Detach removes the link of one interface, or with ifname "" every link
// and every pin, so nothing of xdpban stays in the kernel. It refuses while
// a daemon holds the pin directory, which would re-create what it removes.
func Detach(pinDir, ifname string) ([]string, error) {
	if pinDir == "" {
		pinDir = DefaultPinDir
	}
	if err := requireCaps("detach", detachCaps); err != nil {
		return nil, err
	}
	if err := checkBPFFS(pinDir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(pinDir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("detach: %w", ErrNotLoaded)
	}
	lock, err := lockDir(pinDir)
	if err != nil {
		return nil, fmt.Errorf("detach: %w (stop it first: systemctl stop xdpban)", err)
	}
	defer lock.Close()

	names, err := pinnedLinkNames(pinDir)
	if err != nil {
		return nil, fmt.Errorf("detach: %w", err)
	}
	var removed []string
	for _, name := range names {
		if ifname != "" && name != ifname {
			continue
		}
		if err := unpinLink(linkPinPath(pinDir, name)); err != nil {
			return removed, fmt.Errorf("detach %s: %w", name, err)
		}
		removed = append(removed, name)
	}
	if ifname != "" {
		if len(removed) == 0 {
			return nil, fmt.Errorf("detach: no xdpban link on interface %q (see `xdpban status`)", ifname)
		}
		return removed, nil
	}
	// Everything else under the directory is ours: the maps by name.
	if err := os.RemoveAll(pinDir); err != nil {
		return removed, permissionHint("remove pins", err)
	}
	return removed, nil
}

func unpinLink(path string) error {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		// Not a loadable link (a stale file): removing the pin is all we can do.
		return os.Remove(path)
	}
	defer l.Close()
	return l.Unpin()
}
