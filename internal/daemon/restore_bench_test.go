package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// BenchmarkRestore1MAfterReboot measures the start of a daemon after a
// reboot with a million bans in its store: read the store, reconcile with
// an empty (fresh) map, put every ban back into the jail and the kernel.
// Target: 1 s.
func BenchmarkRestore1MAfterReboot(b *testing.B) {
	testutil.RequireRoot(b)
	const n = 1_000_000
	dir := b.TempDir()
	st, _, err := state.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	bans := make([]jail.Ban, n)
	for i := range bans {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		bans[i] = jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: now, End: now.Add(time.Hour + time.Duration(i)*time.Millisecond), Origin: jail.OriginJail, Count: 1}
	}
	if err := st.SaveBans(bans); err != nil {
		b.Fatal(err)
	}
	st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pin := testutil.PinDir(b)
		b.StartTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start, cpuStart := time.Now(), cpuTime()
		dp, err := xdp.Load(xdp.Config{PinDir: pin, MaxBans: n + 1000})
		if err != nil {
			b.Fatal(err)
		}
		loaded := time.Now()
		d := &daemon{o: Options{StateDir: dir, Jail: jail.DefaultConfig()}, log: log, dp: dp}
		d.o.Jail.IgnoreSelf = false
		d.o.Jail.MaxTracked = 1000
		d.metrics = d.newMetrics()
		if d.store, _, err = state.OpenKeepingBans(dir); err != nil {
			b.Fatal(err)
		}
		opened := time.Now()
		d.set = banset.New(dp.BanMap(), d.store, log, nil)
		if d.jail, err = jail.New(d.o.Jail, d.set, jail.WithHistory(d.set)); err != nil {
			b.Fatal(err)
		}
		if err := d.restore(); err != nil {
			b.Fatal(err)
		}
		took, cpu := time.Since(start), cpuTime()-cpuStart
		b.StopTimer()
		if c, _ := dp.Count(); c != n {
			b.Fatalf("%d bans in the map after restore, want %d", c, n)
		}
		b.ReportMetric(took.Seconds(), "s/restore")
		// CPU time (user and system) tells a slow restore from a busy
		// machine: on two cores the wall time can fall to half of it.
		b.ReportMetric(cpu.Seconds(), "cpu-s/restore")
		b.ReportMetric(loaded.Sub(start).Seconds(), "s/load")
		// What the daemon keeps per ban, and its resident size, with the
		// million bans in force.
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B-heap/ban")
		b.ReportMetric(float64(rss())/(1<<20), "MiB-rss")
		b.ReportMetric(opened.Sub(loaded).Seconds(), "s/open-store")
		d.store.Close()
		dp.Abandon()
		b.StartTimer()
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident set size in bytes.
func rss() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return resident * int64(os.Getpagesize())
}
