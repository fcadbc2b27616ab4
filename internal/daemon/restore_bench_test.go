package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/testutil"
	"github.com/xdpban/xdpban/internal/xdp"
)

// BenchmarkRestore1MAfterReboot measures the start of a daemon after a
// reboot with a million bans in its store: read the store, reconcile with
// an empty (fresh) map, put every ban back into the jail and the kernel.
// Target: 1 s. In the same run it measures the kernel's part alone: the
// same bans written into a fresh map with BanBatch, as the restore does,
// with nothing else (x-insert-alone is the restore's time over that).
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
		bans[i] = restoreBenchBan(i, now)
	}
	if err := st.SaveBans(bans); err != nil {
		b.Fatal(err)
	}
	st.Close()
	bans = nil // not live in what MiB-rss measures
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pin := testutil.PinDir(b)
		d := &daemon{log: log, o: Options{StateDir: dir, Jail: jail.DefaultConfig(),
			ControlSock: filepath.Join(b.TempDir(), "control.sock"),
			Datapath:    DatapathOptions{Config: xdp.Config{PinDir: pin, MaxBans: n + 1000}}}}
		d.o.Jail.IgnoreSelf = false
		d.o.Jail.MaxTracked = 1000
		d.metrics = d.newMetrics()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		// The daemon's start from the store on: open it, load the
		// datapath, restore.
		start, cpuStart := time.Now(), cpuTime()
		if err := d.startJail(); err != nil {
			b.Fatal(err)
		}
		took, cpu := time.Since(start), cpuTime()-cpuStart
		b.StopTimer()
		if c, _ := d.dp.Count(); c != n {
			b.Fatalf("%d bans in the map after restore, want %d", c, n)
		}
		b.ReportMetric(took.Seconds(), "s/restore")
		// CPU time (user and system) tells a slow restore from a busy
		// machine: on two cores the wall time can fall to half of it.
		b.ReportMetric(cpu.Seconds(), "cpu-s/restore")
		// What the daemon keeps per ban, and its resident size, with the
		// million bans in force.
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B-heap/ban")
		b.ReportMetric(float64(rss())/(1<<20), "MiB-rss")
		d.store.Close()
		d.dp.Abandon()
		alone, aloneCPU := insertAlone(b, n, now)
		b.ReportMetric(alone.Seconds(), "s/insert-alone")
		b.ReportMetric(aloneCPU.Seconds(), "cpu-s/insert-alone")
		b.ReportMetric(took.Seconds()/alone.Seconds(), "x-insert-alone")
		b.StartTimer()
	}
}

// insertAlone writes bans into a fresh map the way a restore does
// (xdp.BanMap.BanBatch) and returns its wall and CPU time: the kernel's
// part of a restore, which no userspace change makes smaller.
func insertAlone(b *testing.B, n int, now time.Time) (wall, cpu time.Duration) {
	dp, err := xdp.Load(xdp.Config{PinDir: testutil.PinDir(b), MaxBans: uint32(n) + 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Abandon()
	specs := make([]xdp.BanSpec, n)
	for i := range specs {
		ban := restoreBenchBan(i, now)
		specs[i] = xdp.BanSpec{Prefix: ban.Prefix, Until: ban.End}
	}
	runtime.GC()
	start, cpuStart := time.Now(), cpuTime()
	if _, err := dp.BanMap().BanBatch(specs); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), cpuTime() - cpuStart
}

// restoreBenchBan is the i-th of the benchmark's million stored bans. Their
// ends are in no order, as a store's are: keys are sorted by address, ends
// by when each source was banned.
func restoreBenchBan(i int, now time.Time) jail.Ban {
	const n = 1_000_000
	a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	end := now.Add(time.Hour + time.Duration(i*7919%n)*time.Millisecond)
	return jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: now, End: end, Origin: jail.OriginJail, Count: 1}
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
