package xdp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultPinDir is where the maps and links are pinned.
const DefaultPinDir = "/sys/fs/bpf/xdpban"

// DefaultMaxBans is the default capacity of the ban map.
const DefaultMaxBans = 1_000_000

// MaxMaxBans bounds --max-bans: the jail numbers the bans it holds in 24
// bits (internal/jail/active.go), and 16 million bans take gigabytes.
const MaxMaxBans = 16_000_000

// Ports is the set of protected TCP destination ports, or all traffic.
type Ports struct {
	All  bool     // every packet of a banned source, any protocol
	List []uint16 // sorted, unique; empty when All
}

// DefaultPorts protects odette-ftps, OFTP2 over TLS.
var DefaultPorts = Ports{List: []uint16{6619}}

// ParsePorts reads "6619", "6619,443", "1000-1010" or "all".
func ParsePorts(s string) (Ports, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "all") {
		return Ports{All: true}, nil
	}
	var ports []uint16
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parsePort(lo)
		if err != nil {
			return Ports{}, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return Ports{}, err
			}
			if b < a {
				return Ports{}, fmt.Errorf("port range %q: end is below start", f)
			}
		}
		for p := int(a); p <= int(b); p++ {
			ports = append(ports, uint16(p))
		}
	}
	if len(ports) == 0 {
		return Ports{}, fmt.Errorf("ports %q: give a list like 6619,443, a range like 6000-6010, or all", s)
	}
	slices.Sort(ports)
	return Ports{List: slices.Compact(ports)}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: must be a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// String gives the form ParsePorts reads, with ranges collapsed.
func (p Ports) String() string {
	if p.All {
		return "all"
	}
	var parts []string
	for i := 0; i < len(p.List); {
		j := i
		for j+1 < len(p.List) && p.List[j+1] == p.List[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", p.List[i], p.List[j]))
		} else {
			parts = append(parts, strconv.Itoa(int(p.List[i])))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func (p Ports) bitmap() [8192]byte {
	var b [8192]byte
	for _, port := range p.List {
		b[port>>3] |= 1 << (port & 7)
	}
	return b
}

func portsFromBitmap(all bool, b [8192]byte) Ports {
	if all {
		return Ports{All: true}
	}
	var list []uint16
	for port := 0; port < 65536; port++ {
		if b[port>>3]&(1<<(port&7)) != 0 {
			list = append(list, uint16(port))
		}
	}
	return Ports{List: list}
}

// Config is what the program is loaded with.
type Config struct {
	PinDir     string
	Ports      Ports
	IPv6Prefix int    // 1..128; IPv6 sources are banned per prefix of this length
	MaxBans    uint32 // 0: keep the pinned map's size, or DefaultMaxBans
	// HitTTL: how long a CPU trusts a ban it cached (DefaultHitTTL when
	// 0). Not a flag: tests raise it so that a stale entry cannot age out
	// before it is caught.
	HitTTL time.Duration
}

func (c *Config) validate() error {
	if c.PinDir == "" {
		c.PinDir = DefaultPinDir
	}
	if c.IPv6Prefix == 0 {
		c.IPv6Prefix = 128
	}
	if c.IPv6Prefix < 1 || c.IPv6Prefix > 128 {
		return fmt.Errorf("ipv6-prefix %d: must be from 1 to 128", c.IPv6Prefix)
	}
	if c.MaxBans > MaxMaxBans {
		return fmt.Errorf("max-bans %d: must be at most %d", c.MaxBans, MaxMaxBans)
	}
	if !c.Ports.All && len(c.Ports.List) == 0 {
		c.Ports = DefaultPorts
	}
	if c.HitTTL <= 0 {
		c.HitTTL = DefaultHitTTL
	}
	return nil
}
