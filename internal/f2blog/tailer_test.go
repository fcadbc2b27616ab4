package f2blog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

type tailFixture struct {
	t        *testing.T
	path     string
	stateDir string
	w        *Writer
	n        int
}

func newTailFixture(t *testing.T) *tailFixture {
	dir := t.TempDir()
	fx := &tailFixture{t: t, path: filepath.Join(dir, "os4x.log"), stateDir: filepath.Join(dir, "state")}
	w, err := OpenWriter(fx.path, TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	fx.w = w
	return fx
}

// write logs n failures from distinct addresses 198.18.1.k, numbered on
// across calls, so a test can tell exactly which lines came back.
func (fx *tailFixture) write(n int) {
	for range n {
		fx.n++
		f := failure("198.18.1."+strconv.Itoa(fx.n), "")
		f.Time = testTime.Add(time.Duration(fx.n) * time.Second)
		if _, err := fx.w.Log(f); err != nil {
			fx.t.Fatal(err)
		}
	}
}

// rotate renames the log away, as logrotate does without copytruncate.
func (fx *tailFixture) rotate() {
	if err := os.Rename(fx.path, fx.path+".1"); err != nil {
		fx.t.Fatal(err)
	}
}

// truncate empties the log in place, as logrotate's copytruncate does.
func (fx *tailFixture) truncate() {
	if err := os.Truncate(fx.path, 0); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *tailFixture) tailer() *Tailer {
	return fx.tailerWith(TailOptions{})
}

func (fx *tailFixture) tailerWith(o TailOptions) *Tailer {
	tl, err := NewTailer(fx.path, fx.stateDir, o)
	if err != nil {
		fx.t.Fatal(err)
	}
	if err := tl.Open(); err != nil && !errors.Is(err, ErrMissing) {
		fx.t.Fatal(err)
	}
	fx.t.Cleanup(func() { tl.Close() })
	return tl
}

// poll runs one Poll and returns what it handed on.
func poll(t *testing.T, tl *Tailer) []event.Failure {
	t.Helper()
	var evs []event.Failure
	if err := tl.Poll(context.Background(), func(ev event.Failure) { evs = append(evs, ev) }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// caughtUp returns a fixture whose tailer has read its first n failures.
func caughtUp(t *testing.T, n int) (*tailFixture, *Tailer) {
	t.Helper()
	fx := newTailFixture(t)
	tl := fx.tailerWith(TailOptions{DrainIdle: time.Hour})
	fx.write(n)
	expect(t, tl, 1, n)
	return fx, tl
}

// expect polls once and checks that exactly the failures numbered from..to
// came back, in order, with their own time.
func expect(t *testing.T, tl *Tailer, from, to int) {
	t.Helper()
	evs := poll(t, tl)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Addr.String())
	}
	var want []string
	for i := from; i <= to; i++ {
		want = append(want, "198.18.1."+strconv.Itoa(i))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	for i, ev := range evs {
		if !ev.Time.Equal(testTime.Add(time.Duration(from+i) * time.Second)) {
			t.Errorf("%v: time %v is not the line's own", ev.Addr, ev.Time)
		}
	}
}

func TestTailerReadsNewLinesOnce(t *testing.T) {
	fx := newTailFixture(t)
	tl := fx.tailer()
	expect(t, tl, 1, 0)
	fx.write(3)
	expect(t, tl, 1, 3)
	expect(t, tl, 1, 0)
	fx.write(2)
	expect(t, tl, 4, 5)
}

func TestTailerWaitsForCompleteLine(t *testing.T) {
	fx := newTailFixture(t)
	tl := fx.tailer()
	line := Format(failure("198.18.1.1", ""), TimeEnd)
	f, err := os.OpenFile(fx.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(line[:20])
	if evs := poll(t, tl); len(evs) != 0 {
		t.Fatalf("half a line gave %v", evs)
	}
	f.WriteString(line[20:] + "\n")
	if evs := poll(t, tl); len(evs) != 1 || evs[0].Source != fx.path {
		t.Fatalf("got %v", evs)
	}
}

func TestTailerFollowsRename(t *testing.T) {
	fx, tl := caughtUp(t, 2)
	fx.write(1) // 3 lands in the file that is about to be renamed
	fx.rotate()
	fx.write(2) // the writer notices and starts a new file: 4, 5
	expect(t, tl, 3, 5)
	fx.write(1)
	expect(t, tl, 6, 6)
}

func TestTailerFollowsCopytruncate(t *testing.T) {
	fx, tl := caughtUp(t, 3)
	fx.truncate()
	fx.write(1)
	expect(t, tl, 4, 4)
	// Truncated and refilled beyond the old offset between two polls.
	fx.truncate()
	fx.write(3)
	expect(t, tl, 5, 7)
}

func TestTailerResumesAfterRestart(t *testing.T) {
	fx, tl := caughtUp(t, 2)
	tl.Close()
	fx.write(2) // written while we were down
	tl = fx.tailer()
	expect(t, tl, 3, 4)
}

func TestTailerResumesAcrossRotationWhileDown(t *testing.T) {
	fx, tl := caughtUp(t, 2)
	tl.Close()
	fx.write(1) // 3: still in the old file
	fx.rotate()
	fx.write(2) // 4, 5: new file
	tl = fx.tailer()
	expect(t, tl, 3, 5)
}

func TestTailerResumesAfterCopytruncateWhileDown(t *testing.T) {
	fx, tl := caughtUp(t, 3)
	tl.Close()
	fx.truncate()
	fx.write(4) // longer than before: only the first-line hash tells
	tl = fx.tailer()
	expect(t, tl, 4, 7)
}

func TestTailerMissingFileAndDamagedState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "later.log")
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	tl, err := NewTailer(path, filepath.Join(dir, "state"), TailOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	if err := tl.Open(); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), path) {
		t.Fatalf("missing file at start: %v, want ErrMissing naming the path", err)
	}
	if evs := poll(t, tl); len(evs) != 0 {
		t.Fatalf("missing file: %v", evs)
	}
	os.WriteFile(statePath(filepath.Join(dir, "state"), path), []byte("{garbage"), 0o600)
	// The file appears after the start: its undated lines are new.
	os.WriteFile(path, []byte("other program's line\n"+Format(failure("198.18.1.1", ""), TimeNone)+"\n"), 0o600)
	evs := poll(t, tl)
	if len(evs) != 1 || !evs[0].Time.Equal(now) {
		t.Fatalf("got %v", evs)
	}
	if s := tl.Stats(); s.Read != 2 || s.Matched != 1 || s.Unparsed != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestTailerSkipsOverlongLine(t *testing.T) {
	fx := newTailFixture(t)
	tl := fx.tailer()
	os.WriteFile(fx.path, []byte(strings.Repeat("x", 3*maxLine)+"\n"), 0o600)
	fx.write(1)
	expect(t, tl, 1, 1)
}

func TestTailerRun(t *testing.T) {
	fx := newTailFixture(t)
	fx.write(2)
	tl := fx.tailer()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan event.Failure, 10)
	done := make(chan error)
	go func() {
		done <- tl.Run(ctx, func(f event.Failure) { got <- f }, func(err error) { t.Error(err) })
	}()
	for range 2 {
		<-got
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("extra events: %d", len(got))
	}
}

func TestTailerResumesAfterCopytruncateWithCopyWhileDown(t *testing.T) {
	fx, tl := caughtUp(t, 3)
	tl.Close()
	fx.write(2) // 4, 5: written while down, before the rotation's copy
	copyTo(t, fx.path, fx.path+".1")
	fx.truncate()
	fx.write(2) // 6, 7
	tl = fx.tailerWith(TailOptions{DrainIdle: time.Hour})
	expect(t, tl, 4, 7)
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestTailerResumesAfterCopytruncateWithSameFirstLineWhileDown: OS4X's
// lines are undated, so after a copytruncate the refilled log can start
// with the very line the old one started with (the same partner failing
// again) and grow past the saved offset. Inode, first line and size then
// all say "appended"; the bytes before the offset tell it was refilled,
// and every line written since is read, none skipped.
func TestTailerResumesAfterCopytruncateWithSameFirstLineWhileDown(t *testing.T) {
	fx := newTailFixture(t)
	tl := fx.tailerWith(TailOptions{DrainIdle: time.Hour})
	line := func(addr string) string {
		return "TLS error 167772359 during connect try from " + addr + ": peer did not return a certificate.\n"
	}
	appendRaw(t, fx.path, line("198.18.1.1")+line("198.18.1.2")+line("198.18.1.2"))
	if evs := poll(t, tl); len(evs) != 3 {
		t.Fatalf("read %d failures before the restart, want 3", len(evs))
	}
	tl.Close()
	copyTo(t, fx.path, fx.path+".1")
	fx.truncate()
	appendRaw(t, fx.path, line("198.18.1.1")+line("198.18.1.3")+line("198.18.1.3")+line("198.18.1.3"))
	tl = fx.tailerWith(TailOptions{DrainIdle: time.Hour})
	var got []string
	for _, ev := range poll(t, tl) {
		got = append(got, ev.Addr.String())
	}
	if want := "198.18.1.1,198.18.1.3,198.18.1.3,198.18.1.3"; strings.Join(got, ",") != want {
		t.Fatalf("after the restart read %v, want %s", got, want)
	}
}
