package banset

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// modelMaxBans is the map's size in the model test: small, so that the
// pool of addresses fills it and bans evict others.
const modelMaxBans = 12

// lab is one daemon's worth of the ban set, wired as the daemon wires it,
// on real pins, a real program and a real store.
type lab struct {
	t        *testing.T
	pinDir   string
	stateDir string
	cfg      jail.Config
	dp       *xdp.Datapath
	store    *state.Store
	set      *Set
	jail     *jail.Jail
	evicted  int
	ops      []string // the steps so far, for failure messages
}

func newLab(t *testing.T) *lab {
	testutil.RequireRoot(t)
	cfg := jail.DefaultConfig()
	cfg.IgnoreSelf = false
	cfg.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("198.18.99.0/24")}
	cfg.IPv6Prefix = 64
	cfg.BanTime = time.Second
	l := &lab{t: t, pinDir: testutil.PinDir(t), stateDir: t.TempDir(), cfg: cfg}
	l.open()
	t.Cleanup(l.close)
	return l
}

// open starts as the daemon does: load (reusing pins), open the store,
// restore.
func (l *lab) open() {
	l.t.Helper()
	var err error
	// The hit cache is trusted for an hour: an entry a change failed to
	// invalidate stays wrong until the check sees it.
	cfg := xdp.Config{PinDir: l.pinDir, MaxBans: modelMaxBans, IPv6Prefix: l.cfg.IPv6Prefix, HitTTL: time.Hour}
	if l.dp, err = xdp.Load(cfg); err != nil {
		l.t.Fatal(err)
	}
	if l.store, _, err = state.Open(l.stateDir); err != nil {
		l.t.Fatal(err)
	}
	l.set = New(l.dp.BanMap(), l.store, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { l.evicted++ })
	if l.jail, err = jail.New(l.cfg, l.set, jail.WithHistory(l.set)); err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.set.Restore(l.jail, l.dp.Fresh()); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) close() {
	if l.dp != nil {
		l.dp.Close()
		l.store.Close()
		l.dp = nil
	}
}

// reboot loses what a reboot loses: the daemon and every pin.
func (l *lab) reboot() {
	l.close()
	if err := os.RemoveAll(l.pinDir); err != nil {
		l.t.Fatal(err)
	}
	l.open()
}

// modelPool: IPv4 addresses (two of them in ignoreip, two sharing a
// filter slot) and IPv6 addresses, two of which share a /64.
var modelPool = func() []netip.Addr {
	var out []netip.Addr
	for i := 1; i <= 14; i++ {
		out = append(out, netip.AddrFrom4([4]byte{198, 18, 40, byte(i)}))
	}
	// These two share a slot of the model's filter (2^16 slots), not an
	// entry of the hit cache: with one banned, the other's unban leaves
	// its filter slot counted, and its cache entry must answer.
	out = append(out, netip.MustParseAddr("198.18.102.13"), netip.MustParseAddr("198.19.0.1"))
	out = append(out, netip.MustParseAddr("198.18.99.7"), netip.MustParseAddr("198.18.99.8"),
		netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:1::2"),
		netip.MustParseAddr("2001:db8:2::1"), netip.MustParseAddr("2001:db8:3::1"))
	return out
}()

// banPrefix is what a manual ban of a is for: the address, or its /64.
func (l *lab) banPrefix(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(l.cfg.IPv6Prefix)
	return p
}

// margin keeps checks off the instants a ban ends, where the kernel's
// tick and the check's own clock may disagree.
const margin = 100 * time.Millisecond

// check compares the jail, the map, the filter, the store and the
// program's verdicts.
func (l *lab) check() error {
	now := time.Now()
	settled := func(end time.Time) bool { return end.IsZero() || end.Sub(now).Abs() > margin }
	inForce := func(end time.Time) bool { return end.IsZero() || end.After(now) }

	jailBans := map[netip.Prefix]jail.Ban{}
	for _, b := range l.jail.Bans() {
		jailBans[b.Prefix] = b
	}
	entries, err := l.dp.Entries()
	if err != nil {
		return err
	}
	inMap := map[netip.Prefix]xdp.Ban{} // the map's entries and the trie's
	exact := 0
	for _, e := range entries {
		inMap[e.Prefix] = e
		if !l.dp.BanMap().IsRange(e.Prefix) {
			exact++
		}
	}
	if exact > modelMaxBans {
		return fmt.Errorf("map holds %d entries, more than its %d", exact, modelMaxBans)
	}
	stored, err := l.store.ActiveBans()
	if err != nil {
		return err
	}
	inStore := map[netip.Prefix]jail.Ban{}
	for _, b := range stored {
		inStore[b.Prefix] = b
	}

	for p, b := range jailBans {
		if !settled(b.End) {
			continue
		}
		e, ok := inMap[p]
		if !ok {
			return fmt.Errorf("jail holds %v until %v, the map does not", p, b.End)
		}
		if e.Permanent() != b.Permanent() || e.Until.Sub(b.End).Abs() > 2*time.Millisecond {
			return fmt.Errorf("%v: jail until %v, map until %v", p, b.End, e.Until)
		}
		s, ok := inStore[p]
		if !ok || !s.End.Equal(b.End) || s.Origin != b.Origin || s.Count != b.Count {
			return fmt.Errorf("%v: jail %+v, store %+v (%v)", p, b, s, ok)
		}
	}
	for p, e := range inMap {
		if settled(e.Until) && inForce(e.Until) {
			if _, ok := jailBans[p]; !ok {
				return fmt.Errorf("map holds %v until %v, the jail does not", p, e.Until)
			}
		}
	}
	for p, s := range inStore {
		if settled(s.End) && inForce(s.End) {
			if _, ok := jailBans[p]; !ok {
				return fmt.Errorf("store holds %v until %v, the jail does not", p, s.End)
			}
		}
	}
	lost, err := l.dp.BanMap().Audit()
	if err != nil {
		return err
	}
	if len(lost) > 0 {
		return fmt.Errorf("counting filter reads zero for bans %v", lost)
	}
	// The program, last: a packet of an expired entry deletes it. Each
	// address is judged by the time of its own runs: the reads above take
	// a while on a loaded machine, and a ban may end meanwhile.
	for _, a := range modelPool {
		// Twice on one CPU, the same each check: the second run is served
		// by the hit cache, and the first of the next check finds what the
		// steps in between left in it.
		t0 := time.Now()
		got := l.verdicts(a)
		t1 := time.Now()
		// settledRun: the end is more than the margin away from the runs.
		settledRun := func(end time.Time) bool {
			return end.IsZero() || end.After(t1.Add(margin)) || end.Before(t0.Add(-margin))
		}
		drop, either := false, false
		for p, b := range jailBans {
			if p.Contains(a) && (b.End.IsZero() || b.End.After(t0)) {
				drop = drop || settledRun(b.End)
				either = either || !settledRun(b.End)
			}
		}
		for p, e := range inMap {
			// Ends about now: the kernel may be a tick late.
			either = either || p.Contains(a) && !settledRun(e.Until)
		}
		switch {
		case drop && (got[0] != xdpDrop || got[1] != xdpDrop):
			return fmt.Errorf("packet from %v: verdicts %d then %d on one CPU, want drop (%d)", a, got[0], got[1], xdpDrop)
		case !drop && !either && (got[0] != xdpPass || got[1] != xdpPass):
			// Every ban of a has ended: the program keeps time by the
			// tick, which a loaded machine delivers late, so it may see
			// the end late, never early.
			if err := l.passesWithin(a, time.Second); err != nil {
				return err
			}
		}
	}
	return nil
}

// passesWithin polls until the program passes a's packet, for at most d.
func (l *lab) passesWithin(a netip.Addr, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		got := l.verdicts(a) // on the CPU whose cache the checks fill
		if got == [2]uint32{xdpPass, xdpPass} {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("packet from %v: verdicts %v on one CPU for %v after its bans ended, want pass (%d)", a, got, d, xdpPass)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	xdpDrop = 1
	xdpPass = 2
)

// verdicts runs the program twice on a TCP SYN from src to port 6619, on
// the first CPU the test may use.
func (l *lab) verdicts(src netip.Addr) [2]uint32 {
	var v [2]uint32
	testutil.OnOneCPU(l.t, func() {
		for i := range v {
			v[i] = l.verdict(src)
		}
	})
	return v
}

// verdict runs the program on a TCP SYN from src to port 6619.
func (l *lab) verdict(src netip.Addr) uint32 {
	l.t.Helper()
	ret, err := l.dp.Program().Run(&ebpf.RunOptions{Data: synFrom(src)})
	if err != nil {
		l.t.Fatalf("run program: %v", err)
	}
	return ret
}

// synFrom builds an Ethernet frame with a TCP SYN from src to port 6619.
func synFrom(src netip.Addr) []byte {
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 6619)
	tcp[12] = 5 << 4
	tcp[13] = 0x02 // SYN
	eth := make([]byte, 14)
	copy(eth[0:6], []byte{2, 0, 0, 0, 0, 1})
	copy(eth[6:12], []byte{2, 0, 0, 0, 0, 2})
	if src.Is4() {
		binary.BigEndian.PutUint16(eth[12:], 0x0800)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
		ip[8], ip[9] = 64, 6
		s := src.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], []byte{198, 18, 0, 1})
		return append(append(eth, ip...), tcp...)
	}
	binary.BigEndian.PutUint16(eth[12:], 0x86DD)
	ip := make([]byte, 40)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(tcp)))
	ip[6], ip[7] = 6, 64
	s := src.As16()
	copy(ip[8:], s[:])
	d := netip.MustParseAddr("2001:db8::1").As16()
	copy(ip[24:], d[:])
	return append(append(eth, ip...), tcp...)
}
