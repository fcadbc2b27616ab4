package f2blog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

const (
	// maxLine bounds one line in a watched log; longer lines are skipped
	// whole, also when they arrive over several reads.
	maxLine = 64 << 10
	// batchSize bounds the failures held between saving the position and
	// handing them on.
	batchSize = 4096
	// warnEvery limits the warning about lines in another shape.
	warnEvery = 5 * time.Minute
)

// tailFile is one open log and how far it was read.
type tailFile struct {
	f        *os.File
	ino      uint64
	off      int64  // after the last complete line handled
	first    string // hash of the first line, "" until complete
	skipping bool   // inside a line longer than maxLine
	// undatedFrom: undated lines before this offset were in the file when
	// xdpban first saw it, and never count.
	undatedFrom int64
	r           *bufio.Reader
}

func (tf *tailFile) size() int64 {
	st, err := tf.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

func (tf *tailFile) close() error { return tf.f.Close() }

// read hands on the complete lines of tf from its offset on and reports
// whether it consumed anything. A line still being written stays for the
// next call, unless it is already too long: then it is skipped as it
// arrives.
func (t *Tailer) read(ctx context.Context, tf *tailFile, emit func(event.Failure)) (bool, error) {
	src := io.NewSectionReader(tf.f, tf.off, 1<<62)
	if tf.r == nil {
		tf.r = bufio.NewReaderSize(src, maxLine)
	} else {
		tf.r.Reset(src)
	}
	start := tf.off
	for n := 0; ; n++ {
		if n%batchSize == batchSize-1 && ctx.Err() != nil {
			return tf.off != start, nil
		}
		chunk, err := tf.r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !tf.skipping {
				t.stats.tooLong.Add(1)
				t.stats.read.Add(1)
			}
			tf.off += int64(len(chunk))
			tf.skipping = true
			continue
		case errors.Is(err, io.EOF):
			if tf.skipping {
				tf.off += int64(len(chunk)) // more of the line being skipped
			}
			if tf.first == "" {
				tf.first = firstLineHash(tf.f)
			}
			return tf.off != start, nil
		case err != nil:
			return tf.off != start, fmt.Errorf("read watched log %s: %w", t.path, err)
		}
		lineAt := tf.off
		tf.off += int64(len(chunk))
		if tf.skipping {
			tf.skipping = false
			continue
		}
		t.stats.read.Add(1)
		if ev, ok := t.classify(chunk, lineAt < tf.undatedFrom); ok {
			t.batch = append(t.batch, pending{ev, t.state()})
			if len(t.batch) >= batchSize {
				if err := t.flush(ctx, emit); err != nil || ctx.Err() != nil {
					return true, err
				}
			}
		}
	}
}

// classify parses one line and decides whether it counts; preexisting
// says the line was in the file when it was first seen.
func (t *Tailer) classify(line []byte, preexisting bool) (event.Failure, bool) {
	ev, err := Parse(string(line))
	if err != nil {
		t.stats.unparsed.Add(1)
		t.warnUnparsed()
		return event.Failure{}, false
	}
	now := t.o.Now()
	switch {
	case ev.Time.IsZero() && preexisting:
		// Its time is unknown and may be years ago: never a replay.
		t.stats.tooOld.Add(1)
		return event.Failure{}, false
	case ev.Time.IsZero():
		ev.Time = now // written after we first looked: about now
	case t.o.FindTime > 0 && ev.Time.Before(now.Add(-t.o.FindTime)):
		t.stats.tooOld.Add(1)
		return event.Failure{}, false
	}
	t.stats.matched.Add(1)
	ev.Source = t.path
	return ev, true
}

func (t *Tailer) warnUnparsed() {
	now := t.o.Now()
	if t.o.Log == nil || (!t.lastWarn.IsZero() && now.Sub(t.lastWarn) < warnEvery) {
		return
	}
	t.lastWarn = now
	t.o.Log.Warn("watched log has lines that are not TLS failures in OS4X's wording; they are skipped and counted",
		"path", t.path, "unparsed_lines", t.stats.unparsed.Load())
}

// pending is a failure read and not yet handed on, with the position
// just after its line.
type pending struct {
	ev event.Failure
	at tailState
}

// flush saves the position, then hands on the batch. When ctx ends
// before the batch is through, it saves the position after the last
// failure handed on instead and has the next Poll start from there.
func (t *Tailer) flush(ctx context.Context, emit func(event.Failure)) error {
	before := t.saved
	err := t.save(t.state())
	for i, p := range t.batch {
		if ctx.Err() != nil {
			at := before
			if i > 0 {
				at = t.batch[i-1].at
			}
			err = errors.Join(err, t.save(at))
			t.Close()
			t.reopen = true
			break
		}
		emit(p.ev)
	}
	clear(t.batch)
	t.batch = t.batch[:0]
	return err
}

// firstLineHash hashes the first line (up to 4 KiB) of f; "" while the
// first line is still incomplete.
func firstLineHash(f *os.File) string {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	buf = buf[:n]
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return hashLine(buf[:i+1])
	}
	if n == len(buf) {
		return hashLine(buf)
	}
	return ""
}
