package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
)

const groupWatch = "7. --watch-log catching up on a 1 GiB log"

// watchLogSize is the size of the log the catch-up reads.
const watchLogSize = 1 << 30

// WatchMemory measures how far the resident set grows above idle while
// --watch-log's tailer and the jail catch up on a 1 GiB OS4X log of
// recent failures (--watch-log-from-start, every line counted): the peak
// RSS (VmHWM, reset first) against the RSS before, and the growth as a
// share of the file's size.
func WatchMemory(ctx context.Context, r *Report) error {
	dir, err := os.MkdirTemp("", "xdpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "os4x.log")
	lines, err := writeOS4XLog(path, watchLogSize)
	if err != nil {
		return err
	}
	cfg := jail.DefaultConfig()
	cfg.IgnoreSelf = false
	j, err := jail.New(cfg, nopEnforcer{})
	if err != nil {
		return err
	}
	tl, err := f2blog.NewTailer(path, filepath.Join(dir, "state"), f2blog.TailOptions{FromStart: true, FindTime: 10 * time.Minute})
	if err != nil {
		return err
	}
	defer tl.Close()
	if err := tl.Open(); err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	// "5" resets the peak resident set (VmHWM) to the current one.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak rss: %w", err)
	}
	idle, err := procStatusKB("VmRSS")
	if err != nil {
		return err
	}
	start := time.Now()
	n := 0
	if err := tl.Poll(ctx, func(ev event.Failure) { n++; j.Fail(ev) }); err != nil {
		return err
	}
	el := time.Since(start)
	peak, err := procStatusKB("VmHWM")
	if err != nil {
		return err
	}
	if n != lines {
		return fmt.Errorf("tailer handed on %d of %d lines", n, lines)
	}
	growth := float64(peak-idle) / 1024
	r.Add(Figure{Group: groupWatch, Name: "RSS above idle at peak (bound 64 MiB)", Value: growth, Unit: "MiB"})
	r.Ratio(groupWatch, "RSS growth / log size", Input{Name: "peak - idle RSS", Value: growth, Unit: "MiB"},
		Input{Name: "log size", Value: watchLogSize >> 20, Unit: "MiB"}, "the tailer hands failures on as it reads; before, the whole backlog was held")
	r.Add(Figure{Group: groupWatch, Name: "lines read and judged by the jail", Value: float64(lines) / el.Seconds(), Unit: "lines/s"})
	return nil
}

// writeOS4XLog fills path with recent OS4X failure lines, from addresses
// in 198.18.0.0/15 in turn, up to size bytes, and returns how many.
func writeOS4XLog(path string, size int64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	now := time.Now()
	var written int64
	n := 0
	for ; written < size; n++ {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(n>>16&1), byte(n >> 8), byte(n)})
		line := f2blog.Format(event.Failure{Addr: a, Time: now, Code: 167772359, Message: "peer did not return a certificate."}, f2blog.TimeEnd) + "\n"
		w.WriteString(line)
		written += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

func procStatusKB(key string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", key)
}

// nopEnforcer stands in for the XDP map: the figure is about the tailer
// and the jail, not the kernel.
type nopEnforcer struct{}

func (nopEnforcer) Ban(jail.Ban) (netip.Prefix, error) { return netip.Prefix{}, nil }
func (nopEnforcer) Unban(netip.Prefix) error           { return nil }
