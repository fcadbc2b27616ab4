package f2blog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// history writes a log as it looks before xdpban first sees it: undated
// OS4X lines (their time unknown), lines dated long ago, and lines dated
// within findtime of now.
func history(t *testing.T, path string, now time.Time) {
	t.Helper()
	var b strings.Builder
	for i := range 50 {
		b.WriteString(Format(failure("198.18.2."+strconv.Itoa(i), ""), TimeNone) + "\n")
		old := failure("198.18.3."+strconv.Itoa(i), "")
		old.Time = now.Add(-24 * time.Hour)
		b.WriteString(Format(old, TimeEnd) + "\n")
	}
	for i := range 2 {
		recent := failure("198.18.4."+strconv.Itoa(i), "")
		recent.Time = now.Add(-time.Minute)
		b.WriteString(Format(recent, TimeStart) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
		t.Fatal(err)
	}
}

func addrs(evs []event.Failure) string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Addr.String())
	}
	return strings.Join(s, ",")
}

// TestTailerFirstStartIsNoReplay: a log full of old failures bans nobody
// on the first start. Only the lines dated within findtime count; undated
// lines already there never do; lines written afterwards do; a restart
// resumes; --watch-log-from-start replays on purpose.
func TestTailerFirstStartIsNoReplay(t *testing.T) {
	now := time.Now()
	fx := newTailFixture(t)
	history(t, fx.path, now)
	tl := fx.tailerWith(TailOptions{FindTime: 10 * time.Minute})
	if got := addrs(poll(t, tl)); got != "198.18.4.0,198.18.4.1" {
		t.Fatalf("first start handed on %q, want only the two lines dated within findtime", got)
	}
	if s := tl.Stats(); s.TooOld != 100 || s.Matched != 2 || s.Read != 102 {
		t.Errorf("stats %+v, want 100 too old of 102 read", s)
	}
	appendRaw(t, fx.path, Format(failure("198.18.5.1", ""), TimeNone)+"\n")
	if got := poll(t, tl); addrs(got) != "198.18.5.1" || time.Since(got[0].Time) > time.Minute {
		t.Fatalf("undated line written after the start: %v", got)
	}
	tl.Close()

	appendRaw(t, fx.path, Format(failure("198.18.5.2", ""), TimeNone)+"\n")
	tl = fx.tailerWith(TailOptions{FindTime: 10 * time.Minute})
	if got := addrs(poll(t, tl)); got != "198.18.5.2" {
		t.Fatalf("restart handed on %q, want only the line written while down", got)
	}

	replay := newTailFixture(t)
	history(t, replay.path, now)
	tl = replay.tailerWith(TailOptions{FromStart: true})
	if n := len(poll(t, tl)); n != 102 {
		t.Fatalf("--watch-log-from-start handed on %d lines, want all 102", n)
	}
}

func appendRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestTailerRefusesWhatIsNotALogFile: a FIFO, a device and a directory are
// refused at Open with one line naming the path, without blocking or
// reading.
func TestTailerRefusesWhatIsNotALogFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", dir} {
		tl, err := NewTailer(path, filepath.Join(dir, "state"), TailOptions{})
		if err != nil {
			t.Fatal(err)
		}
		err = tl.Open()
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying it is not a regular file", path, err)
		}
		tl.Close()
	}
}

// TestTailerUnreadableNamesFileAndUser drops the file-access rights of
// this thread (fsuid nobody) to see the error an unprivileged daemon gets.
func TestTailerUnreadableNamesFileAndUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch the file-system user")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "secret.log")
	os.WriteFile(path, []byte("x\n"), 0o600)
	tl, err := NewTailer(path, filepath.Join(dir, "state"), TailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "state"), 0o777) // only the log is to be unreadable
	done := make(chan error)
	go func() {
		// The thread keeps fsuid nobody; it ends with this goroutine
		// because it stays locked.
		runtime.LockOSThread()
		syscall.Setfsuid(65534)
		done <- tl.Open()
	}()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "user ") || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("unreadable log: %v, want an error naming the file and the user", err)
	}
}

// TestTailerSkipsOverlongLineAcrossReads: a line over the limit that
// arrives in pieces over several polls is skipped whole and counted; its
// tail is not read as a line of its own.
func TestTailerSkipsOverlongLineAcrossReads(t *testing.T) {
	fx := newTailFixture(t)
	tl := fx.tailer()
	appendRaw(t, fx.path, strings.Repeat("x", maxLine+100))
	poll(t, tl)
	// The tail of the long line is a perfectly good failure line.
	appendRaw(t, fx.path, " "+Format(failure("198.18.9.9", ""), TimeEnd)+"\n")
	if got := poll(t, tl); len(got) != 0 {
		t.Fatalf("tail of an over-long line handed on: %v", got)
	}
	fx.write(1)
	expect(t, tl, 1, 1)
	if s := tl.Stats(); s.TooLong != 1 {
		t.Errorf("too long %d, want 1", s.TooLong)
	}
	// Also across a restart in the middle of the long line.
	appendRaw(t, fx.path, strings.Repeat("y", maxLine+1))
	poll(t, tl)
	tl.Close()
	appendRaw(t, fx.path, " "+Format(failure("198.18.9.9", ""), TimeEnd)+"\n")
	tl = fx.tailer()
	if got := poll(t, tl); len(got) != 0 {
		t.Fatalf("after restart, tail of an over-long line handed on: %v", got)
	}
}

// TestTailerStopsCatchingUpOnCancel: a large backlog does not hold up
// shutdown: Poll hands on nothing after the cancel, and what it read but
// did not hand on is read again, by the next Poll or after a restart.
func TestTailerStopsCatchingUpOnCancel(t *testing.T) {
	fx := newTailFixture(t)
	line := Format(failure("198.18.1.1", ""), TimeEnd) + "\n"
	appendRaw(t, fx.path, strings.Repeat(line, 20*batchSize))
	tl := fx.tailerWith(TailOptions{FromStart: true})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	tl.Poll(ctx, func(event.Failure) { n++; cancel() })
	if n != 1 {
		t.Fatalf("handed on %d events, want none after the one that cancelled", n)
	}
	// Nothing read but not handed on is lost or handed on twice: neither
	// by the same tailer nor after a restart.
	rest := len(poll(t, tl))
	tl.Close()
	tl = fx.tailerWith(TailOptions{FromStart: true})
	if again := len(poll(t, tl)); n+rest != 20*batchSize || again != 0 {
		t.Fatalf("%d + %d handed on, %d again after a restart; want %d once", n, rest, again, 20*batchSize)
	}
	// A restart in the middle of a batch reads it again from the last save.
	fx2 := newTailFixture(t)
	appendRaw(t, fx2.path, strings.Repeat(line, 3*batchSize))
	tl = fx2.tailerWith(TailOptions{FromStart: true})
	ctx, cancel = context.WithCancel(context.Background())
	n = 0
	tl.Poll(ctx, func(event.Failure) { n++; cancel() })
	tl.Close()
	tl = fx2.tailerWith(TailOptions{FromStart: true})
	if rest := len(poll(t, tl)); n+rest != 3*batchSize {
		t.Fatalf("%d before the restart + %d after, want %d", n, rest, 3*batchSize)
	}
}

// TestTailerMemoryIsBounded: catching up on a log much larger than the
// bound keeps the live heap within a few batches, because failures are
// handed on as they are read. The heap is measured after a collection,
// every 8 batches (a tailer holding what it read grows steadily); without
// one, HeapAlloc also counts garbage not collected yet, which on a loaded
// machine (the collector short of CPU, the race detector's allocations)
// ran past the bound.
func TestTailerMemoryIsBounded(t *testing.T) {
	fx := newTailFixture(t)
	var b strings.Builder
	for i := range 1 << 16 {
		b.WriteString(Format(failure("198.18."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&255), ""), TimeEnd) + "\n")
	}
	chunk := b.String()
	f, err := os.OpenFile(fx.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // 4 × 6.9 MB
		f.WriteString(chunk)
	}
	f.Close()
	tl := fx.tailerWith(TailOptions{FromStart: true})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	n := 0
	tl.Poll(context.Background(), func(event.Failure) {
		n++
		if n%(8*batchSize) == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	})
	if n != 4<<16 {
		t.Fatalf("read %d failures, want %d", n, 4<<16)
	}
	const bound = 12 << 20 // under half the file; the old tailer held every failure of it at once
	t.Logf("live heap grew by at most %.1f MB while catching up", float64(peak-base)/(1<<20))
	if peak-base > bound {
		t.Fatalf("heap grew by %d MB while catching up, bound %d MB", (peak-base)>>20, bound>>20)
	}
}

// TestTailerHistoryStaysHistoryAcrossRotation: a log rotated before the
// first catch-up got through it keeps its undated lines uncounted in the
// renamed file, while the new file's lines count.
func TestTailerHistoryStaysHistoryAcrossRotation(t *testing.T) {
	fx := newTailFixture(t)
	history(t, fx.path, time.Now())
	tl := fx.tailerWith(TailOptions{FindTime: 10 * time.Minute})
	fx.rotate()
	appendRaw(t, fx.path, Format(failure("198.18.5.1", ""), TimeNone)+"\n")
	if got := addrs(poll(t, tl)); got != "198.18.4.0,198.18.4.1,198.18.5.1" {
		t.Fatalf("handed on %q, want the two recent dated lines of the old file and the new file's line", got)
	}
}
