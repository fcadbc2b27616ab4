package xdp

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

var testBan = netip.MustParsePrefix("198.18.7.7/32")

func TestRestartKeepsBans(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.PinDir(t)
	d, err := Load(Config{PinDir: dir, MaxBans: 64})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := d.BanMap().Ban(testBan, until); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Config{PinDir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second daemon on the same pins: %v, want ErrLocked", err)
	}
	d.Close()

	// Without the daemon, the pins answer.
	m, err := OpenPinned(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.MaxBans() != 64 || m.Ports().String() != "6619" || m.IPv6Prefix() != 128 {
		t.Errorf("meta: max %d ports %s prefix %d", m.MaxBans(), m.Ports(), m.IPv6Prefix())
	}
	if err := m.BanMap().Ban(netip.MustParsePrefix("198.18.7.8/32"), time.Time{}); err == nil {
		t.Error("ban through a read-only handle succeeded")
	}
	if err := m.BanMap().Unban(testBan); err == nil {
		t.Error("unban through a read-only handle succeeded")
	}
	if _, err := m.BanMap().BanBatch([]BanSpec{{Prefix: netip.MustParsePrefix("198.18.7.9/32")}}); err == nil {
		t.Error("batch ban through a read-only handle succeeded")
	}
	m.Close()

	// A restart without --max-bans keeps the pinned size and the bans.
	d, err = Load(Config{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	bans, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(bans) != 1 || bans[0].Prefix != testBan || bans[0].Until.Sub(until).Abs() > time.Millisecond {
		t.Fatalf("after restart: %+v, want %s until %v", bans, testBan, until)
	}
	if d.MaxBans() != 64 {
		t.Errorf("max bans after restart %d, want 64", d.MaxBans())
	}
	// The restarted program uses the pinned ban filter, with the ban in it.
	if v := run(t, d.Program(), tcpTo(testBan.Addr(), server4, 6619).build()); v != xdpDrop {
		t.Errorf("ban made before the restart: verdict %d, want drop", v)
	}
}

func TestIncompatiblePins(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.PinDir(t)
	d, err := Load(Config{PinDir: dir, MaxBans: 64, IPv6Prefix: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.BanMap().Ban(netip.MustParsePrefix("2001:db8:5::/64"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Load(Config{PinDir: dir, MaxBans: 128}); !errors.Is(err, ErrIncompatible) {
		t.Errorf("other --max-bans: %v, want ErrIncompatible", err)
	}
	if _, err := Load(Config{PinDir: dir, IPv6Prefix: 128}); !errors.Is(err, ErrIncompatible) {
		t.Errorf("other --ipv6-prefix with IPv6 bans pinned: %v, want ErrIncompatible", err)
	}
}

func TestFullMap(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 3})
	soon := time.Now().Add(time.Minute)
	later := time.Now().Add(time.Hour)
	for i, until := range []time.Time{later, soon, {}} {
		if err := d.BanMap().Ban(netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 9, byte(i)}), 32), until); err != nil {
			t.Fatal(err)
		}
	}
	extra := netip.MustParsePrefix("198.18.9.200/32")
	if err := d.BanMap().Ban(extra, later); !errors.Is(err, ErrFull) {
		t.Fatalf("manual ban into a full map: %v, want ErrFull", err)
	}
	// Re-banning an address that is already in the full map still works.
	if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.9.0/32"), later.Add(time.Hour)); err != nil {
		t.Fatalf("extend an existing ban in a full map: %v", err)
	}
	soonest, found, err := d.BanMap().SoonestEnding()
	if err != nil || !found || soonest.Prefix != netip.MustParsePrefix("198.18.9.1/32") {
		t.Fatalf("soonest ending %+v, %v, %v; want 198.18.9.1", soonest, found, err)
	}
}

func TestSweep(t *testing.T) {
	d := loadTest(t, Config{})
	if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.9.1/32"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := d.BanMap().Ban(netip.MustParsePrefix("198.18.9.2/32"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, _, err := d.BanMap().Sweep()
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1 removed", n, err)
	}
	if c, _ := d.Count(); c != 1 {
		t.Errorf("%d bans left, want 1", c)
	}
	if err := d.BanMap().Unban(netip.MustParsePrefix("198.18.9.1/32")); !errors.Is(err, ErrNotBanned) {
		t.Errorf("unban of a swept entry: %v, want ErrNotBanned", err)
	}
}

func TestNotLoadedAndNotBPFFS(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := OpenPinned(testutil.PinDir(t), true); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("open missing pins: %v, want ErrNotLoaded", err)
	}
	if _, err := Load(Config{PinDir: t.TempDir()}); !errors.Is(err, ErrNoBPFFS) {
		t.Errorf("pin dir on tmpfs: %v, want ErrNoBPFFS", err)
	}
}

func TestDetachRemovesEverything(t *testing.T) {
	lab := testutil.NewLab(t)
	dir := testutil.PinDir(t)
	var d *Datapath
	testutil.Do(t, lab.Server, func() {
		var err error
		if d, err = Load(Config{PinDir: dir, MaxBans: 16}); err != nil {
			t.Fatal(err)
		}
		mode, err := d.Attach(lab.ServerIf, ModeAuto)
		if err != nil {
			t.Fatal(err)
		}
		if mode != ModeNative {
			t.Errorf("veth attached in %s mode, want native", mode)
		}
		if _, err := Detach(dir, ""); !errors.Is(err, ErrLocked) {
			t.Errorf("detach while the daemon runs: %v, want ErrLocked", err)
		}
		d.Close()
		ifs, err := Interfaces(dir)
		if err != nil || len(ifs) != 1 || ifs[0].Mode != ModeNative || ifs[0].Current != lab.ServerIf {
			t.Fatalf("interfaces after daemon exit: %+v, %v", ifs, err)
		}
		removed, err := Detach(dir, "")
		if err != nil || len(removed) != 1 {
			t.Fatalf("detach: %v, %v", removed, err)
		}
		if m := interfaceMode(ifs[0].Ifindex); m != ModeNone {
			t.Errorf("after detach the interface still has XDP in %s mode", m)
		}
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin dir still there after detach: %v", err)
	}
}

func TestBanBatch(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 70000})
	var specs []BanSpec
	until := time.Now().Add(time.Hour)
	for i := 0; i < 66000; i++ { // more than one chunk
		specs = append(specs, BanSpec{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)}), 32), Until: until})
	}
	specs = append(specs, BanSpec{Prefix: netip.MustParsePrefix("2001:db8::5/128")})
	n, err := d.BanMap().BanBatch(specs)
	if err != nil || n != len(specs) {
		t.Fatalf("BanBatch: %d, %v; want %d", n, err, len(specs))
	}
	bans, err := d.List()
	if err != nil || len(bans) != len(specs) {
		t.Fatalf("%d bans in the map, %v", len(bans), err)
	}
	if !bans[len(bans)-1].Permanent() || bans[0].Until.Sub(until).Abs() > time.Millisecond {
		t.Errorf("ends not kept: first %+v last %+v", bans[0], bans[len(bans)-1])
	}
	more := make([]BanSpec, 5000)
	for i := range more {
		more[i] = BanSpec{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, 200 + byte(i>>8), byte(i)}), 32)}
	}
	if _, err := d.BanMap().BanBatch(more); !errors.Is(err, ErrFull) {
		t.Errorf("batch past capacity: %v, want ErrFull", err)
	}
}
