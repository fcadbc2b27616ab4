package xdp

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memlock reads the kernel's memory charge of the ban map from its
// fdinfo, the figure `bpftool map show` prints as memlock. For a hash map
// without preallocation it counts the entries in use.
func memlock(tb testing.TB, m *Maps) int64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/self/fdinfo/%d", m.bans.FD()))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "memlock:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("no memlock in fdinfo")
	return 0
}

// BenchmarkBanMapMemory reports the kernel memory of a ban map sized for
// a million bans (BPF_F_NO_PREALLOC) holding none, 10k and 1M bans.
func BenchmarkBanMapMemory(b *testing.B) {
	for b.Loop() {
		d := loadTest(b, Config{MaxBans: 1_000_000})
		b.ReportMetric(float64(memlock(b, d.Maps))/(1<<20), "MiB-memlock/0")
		until := time.Now().Add(time.Hour)
		specs := make([]BanSpec, 1_000_000)
		for i := range specs {
			specs[i] = BanSpec{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Until: until}
		}
		if _, err := d.BanMap().BanBatch(specs[:10_000]); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(memlock(b, d.Maps))/(1<<20), "MiB-memlock/10k")
		if _, err := d.BanMap().BanBatch(specs[10_000:]); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(memlock(b, d.Maps))/(1<<20), "MiB-memlock/1M")
		d.Close()
	}
}

// TestIdleBanMapCostsLittle: without preallocation an empty map sized for
// a million bans charges only its buckets, a fraction of a full one.
func TestIdleBanMapCostsLittle(t *testing.T) {
	d := loadTest(t, Config{MaxBans: 1_000_000})
	idle := memlock(t, d.Maps)
	specs := make([]BanSpec, 100_000)
	for i := range specs {
		specs[i] = BanSpec{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}
	}
	if _, err := d.BanMap().BanBatch(specs); err != nil {
		t.Fatal(err)
	}
	if grown := memlock(t, d.Maps); grown <= idle {
		t.Fatalf("memlock %d with 100k bans, %d idle: the map is preallocated", grown, idle)
	}
}
