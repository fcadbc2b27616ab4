package xdp

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoPrivilege: the process lacks a capability the operation needs.
var ErrNoPrivilege = errors.New("missing capabilities")

// capability is one Linux capability as the kernel numbers it.
type capability struct {
	bit  int
	name string
}

var (
	capBPF      = capability{unix.CAP_BPF, "CAP_BPF"}
	capNetAdmin = capability{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}
	capPerfmon  = capability{unix.CAP_PERFMON, "CAP_PERFMON"}
	capSysAdmin = capability{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}
)

// What each kind of operation needs. Maps and pins need CAP_BPF; loading
// and attaching also CAP_NET_ADMIN (XDP links) and CAP_PERFMON (the
// program reads kernel time and pointers); removing links CAP_NET_ADMIN.
var (
	mapCaps    = []capability{capBPF}
	daemonCaps = []capability{capBPF, capNetAdmin, capPerfmon}
	detachCaps = []capability{capBPF, capNetAdmin}
)

// CheckDaemonPrivileges says which capabilities `xdpban run` lacks, before
// anything is opened: the daemon refuses to start half-way.
func CheckDaemonPrivileges() error { return requireCaps("run", daemonCaps) }

// requireCaps reads the effective capabilities of this process (capget)
// and names the ones missing for op. It decides by capabilities alone,
// never by whether some file happens to be readable: how bpffs was
// mounted (0700 by systemd, 1777 by a bare mount) must not change the
// answer.
func requireCaps(op string, need []capability) error {
	eff, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("%s: read capabilities: %w", op, err)
	}
	has := func(c capability) bool { return eff&(1<<uint(c.bit)) != 0 }
	var missing []string
	for _, c := range need {
		// The kernel still accepts CAP_SYS_ADMIN for what CAP_BPF and
		// CAP_PERFMON split off from it.
		if has(c) || (c != capNetAdmin && has(capSysAdmin)) {
			continue
		}
		missing = append(missing, c.name)
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w %s (run as root, or grant %s)", op, ErrNoPrivilege,
		strings.Join(missing, ", "), capList(need))
}

// effectiveCaps returns this thread's effective set as a bit mask.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}

// capList names capabilities in prose: "A", "A and B", "A, B and C".
func capList(cs []capability) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
