package xdp

import (
	"errors"
	"math"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// TestFilterSizeFor checks the sizing rule of the counting filter: with
// the ban map full, at most 5 % of its slots are taken (the share of
// sources that are not banned but take the lookup), in at most 40 bytes
// per ban of capacity, above the 64 KiB floor and below the 256 MiB cap.
func TestFilterSizeFor(t *testing.T) {
	for _, n := range []uint32{1, 1024, 10_000, 100_000, 1_000_000, 5_000_000, 13_000_000} {
		bits := filterBitsFor(n)
		slots := float64(uint64(1) << bits)
		taken := 1 - math.Exp(-float64(n)/slots)
		if taken > 0.05 {
			t.Errorf("max %d bans: %.0f slots, %.1f %% taken when full, want <= 5 %%", n, slots, taken*100)
		}
		if bits > filterMinBits && slots > 40*float64(n) {
			t.Errorf("max %d bans: %.0f slots, more than 40 per ban", n, slots)
		}
	}
	if b := filterBitsFor(1_000_000); b != 25 {
		t.Errorf("filter for the default million bans: 2^%d slots, want 2^25 (32 MiB)", b)
	}
	if b := filterBitsFor(math.MaxUint32); b != filterMaxBits {
		t.Errorf("filter for 2^32 bans: 2^%d slots, want the cap 2^%d", b, filterMaxBits)
	}
}

// TestFilterSizedWithMap checks that a fresh pin directory gets a filter
// sized for --max-bans, and that the program and userspace agree on its
// slots (a ban counted in under the new size is dropped).
func TestFilterSizedWithMap(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 1_000_000})
	if got, want := d.filterMap.ValueSize(), uint32(1)<<25; got != want {
		t.Fatalf("filter of %d bytes for 1M bans, want %d", got, want)
	}
	if err := d.BanMap().Ban(netip.PrefixFrom(banned4, 32), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v := run(t, d.prog, tcpTo(banned4, server4, 6619).build()); v != xdpDrop {
		t.Fatalf("banned source under a 2^25 filter: verdict %d, want drop", v)
	}
}

// TestFilterKeepsPinnedSize checks the upgrade path: pins of layout 4
// hold a 2 MiB filter whatever the capacity, and a newer xdpban keeps it
// (the running program counts in it) and hashes into it correctly, while
// a filter of a size no xdpban makes is refused.
func TestFilterKeepsPinnedSize(t *testing.T) {
	d := loadTest(t, Config{})
	dir := d.PinDir()
	d.Close()
	replaceFilterPin(t, dir, 1<<21)
	d2, err := Load(Config{PinDir: dir})
	if err != nil {
		t.Fatalf("load over a 2 MiB filter: %v", err)
	}
	if got := d2.filterMap.ValueSize(); got != 1<<21 {
		t.Errorf("the pinned 2 MiB filter became %d bytes", got)
	}
	if err := d2.BanMap().Ban(netip.PrefixFrom(banned4, 32), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v := run(t, d2.prog, tcpTo(banned4, server4, 6619).build()); v != xdpDrop {
		t.Errorf("banned source under the kept 2 MiB filter: verdict %d, want drop", v)
	}
	d2.Close()

	replaceFilterPin(t, dir, 3000)
	if d3, err := Load(Config{PinDir: dir}); !errors.Is(err, ErrIncompatible) {
		if err == nil {
			d3.Close()
		}
		t.Fatalf("load over a 3000-byte filter: %v, want ErrIncompatible", err)
	}
}

// replaceFilterPin pins an empty filter of size bytes in place of dir's,
// as an older xdpban (or a damaged one) left it.
func replaceFilterPin(t *testing.T, dir string, size uint32) {
	t.Helper()
	if err := os.Remove(filterPin(dir)); err != nil {
		t.Fatal(err)
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: size, MaxEntries: 1, Flags: unix.BPF_F_MMAPABLE})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Pin(filterPin(dir)); err != nil {
		t.Fatal(err)
	}
}
