package bench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const groupGo = "6. jail and state (Go benchmarks)"

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.+)$`)

// goResult is one metric of one Go benchmark.
type goResult struct {
	pkg, name, unit string
	value           float64
}

// GoBenchmarks runs the jail and state Go benchmarks (figure 6) and
// records ns/op and each custom metric; B/op and allocs/op are left out.
// It also runs the daemon's restore after a reboot once and reports it
// with the other ways of applying bans (figure 4).
func GoBenchmarks(ctx context.Context, r *Report) error {
	r.Progress("go test -bench for internal/jail and internal/state (about 20 s)")
	res, err := goBench(ctx, ".", "1s", "./internal/jail", "./internal/state")
	if err != nil {
		return err
	}
	for _, g := range res {
		r.Add(Figure{Group: groupGo, Name: g.pkg + " Benchmark" + g.name, Value: g.value, Unit: g.unit})
	}
	r.Progress("go test -bench Restore1MAfterReboot for internal/daemon (about 10 s)")
	if res, err = goBench(ctx, "Restore1MAfterReboot", "1x", "./internal/daemon"); err != nil {
		return err
	}
	found := false
	var restore, alone float64
	for _, g := range res {
		switch g.unit {
		case "s/restore":
			found, restore = true, g.value
			r.Add(Figure{Group: groupApply, Name: "1M bans restored by a daemon start after a reboot (target <= 1 s)", Value: g.value, Unit: "s"})
			r.Note("apply: restore = internal/daemon BenchmarkRestore1MAfterReboot, one run of the daemon's start from the store on (startJail): open the store, which reads its 1M bans, while the datapath loads with fresh pins, reconcile with the empty map, put the bans into the jail and the map")
		case "cpu-s/restore":
			r.Add(Figure{Group: groupApply, Name: "CPU time of that restore (user and system)", Value: g.value, Unit: "s"})
		case "B-heap/ban":
			r.Add(Figure{Group: groupMemory, Name: "daemon heap per ban in force, 1M bans (target <= 64 B)", Value: g.value, Unit: "B"})
		case "MiB-rss":
			r.Add(Figure{Group: groupMemory, Name: "resident size of the restoring process with 1M bans in force", Value: g.value, Unit: "MiB"})
		case "s/insert-alone":
			alone = g.value
		case "cpu-s/insert-alone":
			r.Add(Figure{Group: groupApply, Name: "CPU time of the kernel's part alone: the same 1M bans into a fresh map", Value: g.value, Unit: "s"})
		}
	}
	if !found || alone == 0 {
		return fmt.Errorf("internal/daemon: no s/restore or s/insert-alone metric from BenchmarkRestore1MAfterReboot")
	}
	r.Ratio(groupApply, "restore after a reboot / the kernel's insert of its bans alone",
		Input{"restore of 1M bans", restore, "s"}, Input{"BanBatch of the same bans into a fresh map", alone, "s"},
		"the kernel's inserts are the floor of a restore; the rest is reading, reconciling and the jail")
	r.Progress("go test -bench BanMapMemory for internal/xdp (about 5 s)")
	if res, err = goBench(ctx, "BanMapMemory", "1x", "./internal/xdp"); err != nil {
		return err
	}
	for _, g := range res {
		if n, ok := strings.CutPrefix(g.unit, "MiB-memlock/"); ok {
			r.Add(Figure{Group: groupMemory, Name: "kernel memory (memlock) of a ban map for 1M bans holding " + n, Value: g.value, Unit: "MiB"})
		}
	}
	r.Progress("go test -bench CrowdSecSnapshot100k for internal/daemon (about 5 s)")
	if res, err = goBench(ctx, "CrowdSecSnapshot100k", "1x", "./internal/daemon"); err != nil {
		return err
	}
	for _, g := range res {
		if g.unit == "s/snapshot" {
			r.Add(Figure{Group: groupApply, Name: "100k CrowdSec decisions applied from one startup snapshot (target <= 2 s)", Value: g.value, Unit: "s"})
			r.Note("apply: CrowdSec snapshot = internal/daemon BenchmarkCrowdSecSnapshot100k, one run: stream-decode 100k decisions from a local HTTP server, put them into the jail, the XDP map and the store")
			return nil
		}
	}
	return fmt.Errorf("internal/daemon: no s/snapshot metric from BenchmarkCrowdSecSnapshot100k")
}

const groupMemory = "7. memory"

// goBench runs `go test -bench pattern -benchtime benchtime` on pkgs and
// returns every metric but B/op and allocs/op.
func goBench(ctx context.Context, pattern, benchtime string, pkgs ...string) ([]goResult, error) {
	args := append([]string{"go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime}, pkgs...)
	out, err := shOut(ctx, "", nil, args...)
	if err != nil {
		return nil, err
	}
	var res []goResult
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			unit := f[i+1]
			if unit == "B/op" || unit == "allocs/op" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res = append(res, goResult{pkg: pkg, name: m[1], unit: unit, value: v})
		}
	}
	return res, nil
}
