package xdp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/xdpban/xdpban/internal/testutil"
)

const (
	xdpDrop = 1
	xdpPass = 2
)

var (
	banned4   = netip.MustParseAddr("198.18.5.5")
	other4    = netip.MustParseAddr("198.18.5.6")
	server4   = netip.MustParseAddr("198.18.0.1")
	banned6   = netip.MustParseAddr("2001:db8:1:2::5")
	sameNet6  = netip.MustParseAddr("2001:db8:1:2:ffff::9") // same /64 as banned6
	otherNet6 = netip.MustParseAddr("2001:db8:1:3::5")
	server6   = netip.MustParseAddr("2001:db8::1")
)

// loadTest loads the program pinned in a private directory of the test.
func loadTest(t testing.TB, cfg Config) *Datapath {
	t.Helper()
	testutil.RequireRoot(t)
	cfg.PinDir = testutil.PinDir(t)
	if cfg.MaxBans == 0 {
		cfg.MaxBans = 1024
	}
	d, err := Load(cfg)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func run(t *testing.T, prog *ebpf.Program, pkt []byte) uint32 {
	t.Helper()
	ret, err := prog.Run(&ebpf.RunOptions{Data: pkt})
	if err != nil {
		t.Fatalf("run program: %v", err)
	}
	return ret
}

func counters(t *testing.T, m *Maps) Counters {
	t.Helper()
	c, err := m.Counters()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tcpTo(src, dst netip.Addr, port uint16) frame {
	return frame{src: src, dst: dst, proto: 6, dport: port}
}

func TestVerdicts(t *testing.T) {
	type ban struct {
		addr string
		in   time.Duration // 0 permanent, negative: already expired
	}
	tests := []struct {
		name      string
		ports     Ports
		v6prefix  int
		bans      []ban
		pkt       frame
		want      uint32
		parseFail bool
		expired   bool
	}{
		{name: "banned v4 to protected port", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "banned v4 permanent", bans: []ban{{"198.18.5.5", 0}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "banned v4 other port", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(banned4, server4, 22), want: xdpPass},
		{name: "other v4 source", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(other4, server4, 6619), want: xdpPass},
		{name: "no bans", pkt: tcpTo(banned4, server4, 6619), want: xdpPass},
		{name: "expired ban passes", bans: []ban{{"198.18.5.5", -time.Second}}, pkt: tcpTo(banned4, server4, 6619), want: xdpPass, expired: true},
		{name: "banned v4 udp to protected port number", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 17, dport: 6619}, want: xdpPass},
		{name: "second protected port", ports: Ports{List: []uint16{443, 6619}}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(banned4, server4, 443), want: xdpDrop},
		{name: "all ports: any tcp port", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(banned4, server4, 22), want: xdpDrop},
		{name: "all ports: udp", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 17, dport: 53}, want: xdpDrop},
		{name: "all ports: udp long enough for the straight path", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 17, dport: 53, payload: 64}, want: xdpDrop},
		{name: "udp long enough for the straight path", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 17, dport: 6619, payload: 64}, want: xdpPass},
		{name: "all ports: icmp", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 1}, want: xdpDrop},
		{name: "all ports: other source", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: tcpTo(other4, server4, 22), want: xdpPass},
		{name: "v4 options", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 6, dport: 6619, ipOptions: 40}, want: xdpDrop},
		{name: "v4 options other port", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 6, dport: 80, ipOptions: 12}, want: xdpPass},
		{name: "v4 later fragment, port list", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 6, fragOff: 100}, want: xdpPass},
		{name: "v4 later fragment, all ports", ports: Ports{All: true}, bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{src: banned4, dst: server4, proto: 6, fragOff: 100}, want: xdpDrop},
		{name: "single vlan", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{vlans: []uint16{0x8100}, src: banned4, dst: server4, proto: 6, dport: 6619}, want: xdpDrop},
		{name: "double vlan (QinQ)", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{vlans: []uint16{0x88a8, 0x8100}, src: banned4, dst: server4, proto: 6, dport: 6619}, want: xdpDrop},
		{name: "three vlan tags pass", bans: []ban{{"198.18.5.5", time.Hour}}, pkt: frame{vlans: []uint16{0x88a8, 0x8100, 0x8100}, src: banned4, dst: server4, proto: 6, dport: 6619}, want: xdpPass},
		{name: "arp", ports: Ports{All: true}, pkt: frame{etherType: 0x0806}, want: xdpPass},
		{name: "banned v6", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpDrop},
		{name: "v6 same /64 not banned at /128", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: tcpTo(sameNet6, server6, 6619), want: xdpPass},
		{name: "v6 /64 ban covers the /64", v6prefix: 64, bans: []ban{{"2001:db8:1:2::/64", time.Hour}}, pkt: tcpTo(sameNet6, server6, 6619), want: xdpDrop},
		{name: "v6 /64 ban spares the next /64", v6prefix: 64, bans: []ban{{"2001:db8:1:2::/64", time.Hour}}, pkt: tcpTo(otherNet6, server6, 6619), want: xdpPass},
		{name: "v6 hop-by-hop + dest opts", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{0, 60}}, want: xdpDrop},
		{name: "v6 routing + AH", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{43, 51}}, want: xdpDrop},
		{name: "v6 first fragment", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{44}}, want: xdpDrop},
		{name: "v6 later fragment, port list", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{44}, fragOff: 20}, want: xdpPass},
		{name: "v6 later fragment, all ports", ports: Ports{All: true}, bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, v6Ext: []byte{44}, fragOff: 20}, want: xdpDrop},
		{name: "v6 too many ext headers", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: frame{src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{0, 60, 60, 60, 60, 60, 60, 60, 60}}, want: xdpPass, parseFail: true},
		{name: "v6 other port", bans: []ban{{"2001:db8:1:2::5", time.Hour}}, pkt: tcpTo(banned6, server6, 22), want: xdpPass},
		{name: "v4 /24 range drops a member", bans: []ban{{"198.18.5.0/24", time.Hour}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "v4 /8 range", bans: []ban{{"198.0.0.0/8", 0}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "v4 /31 range", bans: []ban{{"198.18.5.4/31", time.Hour}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "v4 range spares its neighbour", bans: []ban{{"198.18.6.0/24", time.Hour}}, pkt: tcpTo(banned4, server4, 6619), want: xdpPass},
		{name: "v4 range other port", bans: []ban{{"198.18.5.0/24", time.Hour}}, pkt: tcpTo(banned4, server4, 22), want: xdpPass},
		{name: "v4 range behind a vlan tag", bans: []ban{{"198.18.5.0/24", time.Hour}}, pkt: frame{vlans: []uint16{0x8100}, src: banned4, dst: server4, proto: 6, dport: 6619}, want: xdpDrop},
		{name: "v4 range, IPv4-mapped form", bans: []ban{{"::ffff:198.18.5.0/120", time.Hour}}, pkt: tcpTo(banned4, server4, 6619), want: xdpDrop},
		{name: "expired v4 range passes and goes", bans: []ban{{"198.18.5.0/24", -time.Second}}, pkt: tcpTo(banned4, server4, 6619), want: xdpPass, expired: true},
		{name: "v6 /48 range", bans: []ban{{"2001:db8:1::/48", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpDrop},
		{name: "v6 /16 range", bans: []ban{{"2001::/16", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpDrop},
		{name: "v6 /127 range", bans: []ban{{"2001:db8:1:2::4/127", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpDrop},
		{name: "v6 range spares its neighbour", bans: []ban{{"2001:db8:2::/48", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpPass},
		{name: "v6 range with a /64 ban prefix", v6prefix: 64, bans: []ban{{"2001:db8:1::/48", time.Hour}}, pkt: tcpTo(sameNet6, server6, 6619), want: xdpDrop},
		{name: "v4 range does not catch v6", bans: []ban{{"198.18.5.0/24", time.Hour}}, pkt: tcpTo(banned6, server6, 6619), want: xdpPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadTest(t, Config{Ports: tt.ports, IPv6Prefix: tt.v6prefix})
			for _, b := range tt.bans {
				p, err := ParseTarget(b.addr)
				if err != nil {
					t.Fatal(err)
				}
				var until time.Time
				if b.in != 0 {
					until = time.Now().Add(b.in)
				}
				if err := d.BanMap().Ban(p, until); err != nil {
					t.Fatalf("ban %s: %v", p, err)
				}
			}
			before := counters(t, d.Maps)
			pkt := tt.pkt.build()
			// Twice on one CPU: the second run of a banned source is
			// served by that CPU's hit cache, and must agree.
			testutil.OnOneCPU(t, func() {
				for i := range 2 {
					if got := run(t, d.prog, pkt); got != tt.want {
						t.Fatalf("run %d: verdict %d, want %d", i+1, got, tt.want)
					}
				}
			})
			after := counters(t, d.Maps)
			wantDelta := Counters{Seen: 2}
			if tt.want == xdpDrop {
				wantDelta.Dropped = 2
			} else {
				wantDelta.Passed = 2
			}
			if tt.parseFail {
				wantDelta.ParseFails = 2
			}
			if tt.expired {
				wantDelta.Expired = 1 // the first run deleted it
			}
			if delta := sub(after, before); delta != wantDelta {
				t.Errorf("counter delta %+v, want %+v", delta, wantDelta)
			}
			checkBanCounters(t, d.Maps, tt.want == xdpDrop, len(pkt), tt.expired)
		})
	}
}

// checkBanCounters checks the per-ban drop counters of two runs and that
// an expired entry was removed by the program.
func checkBanCounters(t *testing.T, m *Maps, dropped bool, size int, expired bool) {
	t.Helper()
	bans, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	if expired {
		if len(bans) != 0 {
			t.Errorf("expired entry still in the map: %+v", bans)
		}
		return
	}
	var packets, bytes uint64
	for _, b := range bans {
		packets += b.Packets
		bytes += b.Bytes
	}
	if dropped && (packets != 2 || bytes != 2*uint64(size)) {
		t.Errorf("ban counters %d packets / %d bytes, want 2 / %d", packets, bytes, 2*size)
	}
	if !dropped && packets != 0 {
		t.Errorf("ban counted %d packets for a packet that passed", packets)
	}
}

func sub(a, b Counters) Counters {
	return Counters{
		Seen: a.Seen - b.Seen, Passed: a.Passed - b.Passed, Dropped: a.Dropped - b.Dropped,
		Expired: a.Expired - b.Expired, ParseFails: a.ParseFails - b.ParseFails,
	}
}

// TestTruncatedPacketsPass cuts packets from a banned source at every byte
// inside their headers: none may be dropped, and every cut that ends inside
// a header the program must read counts as a parse failure.
func TestTruncatedPacketsPass(t *testing.T) {
	d := loadTest(t, Config{})
	for _, a := range []string{"198.18.5.5", "2001:db8:1:2::5"} {
		if err := d.BanMap().Ban(netip.MustParsePrefix(a+map[bool]string{true: "/32", false: "/128"}[netip.MustParseAddr(a).Is4()]), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []frame{
		{vlans: []uint16{0x88a8, 0x8100}, src: banned4, dst: server4, proto: 6, dport: 6619, ipOptions: 8},
		{vlans: []uint16{0x8100}, src: banned6, dst: server6, proto: 6, dport: 6619, v6Ext: []byte{0, 44, 51}},
	} {
		full := f.build()
		if got := run(t, d.prog, full); got != xdpDrop {
			t.Fatalf("uncut frame %v: verdict %d, want drop", f, got)
		}
		for n := 14; n < len(full); n++ {
			before := counters(t, d.Maps)
			if got := run(t, d.prog, full[:n]); got != xdpPass {
				t.Fatalf("frame cut at %d of %d bytes: verdict %d, want pass", n, len(full), got)
			}
			delta := sub(counters(t, d.Maps), before)
			// A cut right after the Ethernet header (or a VLAN tag) leaves an
			// EtherType with no bytes behind it: also malformed.
			if delta.ParseFails != 1 {
				t.Errorf("frame cut at %d of %d bytes: %d parse failures counted, want 1", n, len(full), delta.ParseFails)
			}
		}
	}
}

// TestCountersPerInterface: the program counts per receiving interface.
// BPF_PROG_TEST_RUN receives on loopback (ifindex 1).
func TestCountersPerInterface(t *testing.T) {
	d := loadTest(t, Config{})
	if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.5.5/32"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		run(t, d.prog, tcpTo(banned4, server4, 6619).build())
	}
	run(t, d.prog, tcpTo(other4, server4, 6619).build())
	lo, err := d.InterfaceCounters(1)
	if err != nil {
		t.Fatal(err)
	}
	if lo != (Counters{Seen: 4, Passed: 1, Dropped: 3}) {
		t.Errorf("loopback counters %+v, want 4 seen, 1 passed, 3 dropped", lo)
	}
	if other, _ := d.InterfaceCounters(2); other != (Counters{}) {
		t.Errorf("ifindex 2 counted packets it never received: %+v", other)
	}
	if total, _ := d.Counters(); total != lo {
		t.Errorf("total %+v differs from the only interface's %+v", total, lo)
	}
}
