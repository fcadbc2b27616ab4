package f2blog

import (
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// rotLines and rotRate: 1,500 lines at 500 lines/s, rotated half-way.
const (
	rotLines = 1500
	rotRate  = 500
)

// os4xWriter writes like a program that opens its log once and keeps the
// descriptor (O_APPEND) until told to reopen.
type os4xWriter struct {
	mu   sync.Mutex // held by copytruncate, see below
	path string
	f    *os.File
}

func (w *os4xWriter) reopen(t *testing.T) {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Error(err)
		return
	}
	w.mu.Lock()
	old := w.f
	w.f = f
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

func (w *os4xWriter) line(t *testing.T, i int) {
	a := netip.AddrFrom4([4]byte{198, 18, byte(10 + i>>8), byte(i)})
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.WriteString(Format(event.Failure{Addr: a, Code: 167772359, Message: "peer did not return a certificate."}, TimeNone) + "\n"); err != nil {
		t.Error(err)
	}
}

// rotation modes: what logrotate (and the writer) do half-way through.
var rotations = map[string]func(t *testing.T, w *os4xWriter){
	// Rename, and the writer notices at once and reopens the path.
	"rename-reopen-now": func(t *testing.T, w *os4xWriter) {
		os.Rename(w.path, w.path+".1")
		w.reopen(t)
	},
	// Rename, and the writer goes on writing into the renamed file for a
	// second before it reopens.
	"rename-reopen-1s": func(t *testing.T, w *os4xWriter) {
		os.Rename(w.path, w.path+".1")
		go func() { time.Sleep(time.Second); w.reopen(t) }()
	},
	// logrotate's create: rename, create an empty file, then SIGHUP makes
	// the writer reopen a moment later.
	"create-sighup": func(t *testing.T, w *os4xWriter) {
		os.Rename(w.path, w.path+".1")
		if f, err := os.OpenFile(w.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640); err == nil {
			f.Close()
		}
		go func() { time.Sleep(200 * time.Millisecond); w.reopen(t) }()
	},
	// copytruncate: copy, then truncate in place; the writer keeps its
	// descriptor. logrotate itself loses a line written between its copy
	// and its truncate (its manual says so); no reader can get that line
	// back, so the writer waits out those two steps here, and the test
	// measures what the reader loses.
	"copytruncate": func(t *testing.T, w *os4xWriter) {
		w.mu.Lock()
		defer w.mu.Unlock()
		src, _ := os.Open(w.path)
		dst, _ := os.Create(w.path + ".1")
		io.Copy(dst, src)
		src.Close()
		dst.Close()
		os.Truncate(w.path, 0)
	},
}

// TestTailerLosesNoLineOnRotation: 1,500 lines at 500 lines/s, rotated
// half-way in each of logrotate's ways, all reach the jail exactly once.
func TestTailerLosesNoLineOnRotation(t *testing.T) {
	for name, rotate := range rotations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			w := &os4xWriter{path: filepath.Join(dir, "os4x.log")}
			w.reopen(t)
			defer func() { w.f.Close() }()
			tl, err := NewTailer(w.path, filepath.Join(dir, "state"), TailOptions{Poll: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := tl.Open(); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen := map[netip.Addr]int{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				tl.Run(ctx, func(ev event.Failure) { mu.Lock(); seen[ev.Addr]++; mu.Unlock() }, func(err error) { t.Error(err) })
			}()
			defer func() { cancel(); <-done }()

			tick := time.NewTicker(time.Second / rotRate)
			for i := range rotLines {
				if i == rotLines/2 {
					rotate(t, w)
				}
				w.line(t, i)
				<-tick.C
			}
			tick.Stop()
			count := func() (distinct, dup int) {
				mu.Lock()
				defer mu.Unlock()
				for _, n := range seen {
					dup += n - 1
				}
				return len(seen), dup
			}
			// The deadline is a failsafe against a hang, not a measurement.
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if n, _ := count(); n == rotLines {
					break
				}
			}
			n, dup := count()
			if n != rotLines || dup != 0 {
				t.Fatalf("%s: %d of %d lines read, %d twice", name, n, rotLines, dup)
			}
			if s := tl.Stats(); s.Rotations == 0 {
				t.Errorf("rotation not counted: %+v", s)
			}
		})
	}
}
