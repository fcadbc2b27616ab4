package f2blog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// maxLine bounds one line in a watched log; longer lines are skipped whole
// rather than buffered without limit.
const maxLine = 64 << 10

// Tailer follows a fail2ban-format log (--watch-log) and turns each failure
// line into an event.Failure carrying the line's own time. It follows rename
// rotation (the old file is read to its end before the new one is opened)
// and copytruncate (the file shrinking below the offset, or its first line
// changing, restarts at 0), and persists inode, offset and a hash of the
// first line in the state dir, so a restart resumes exactly where it stopped
// (also in the renamed file, when rotation happened while it was down).
//
// The position is saved before Poll hands events out: a crash right after
// the save loses those events rather than counting them twice.
type Tailer struct {
	path      string
	statePath string
	now       func() time.Time

	f     *os.File
	ino   uint64
	off   int64
	first string        // hash of the open file's first line, "" until complete
	r     *bufio.Reader // maxLine buffer, reused by every readFrom
}

// NewTailer prepares to follow path, keeping its position in stateDir
// (created 0700 if missing). Nothing is read until the first Poll.
func NewTailer(path, stateDir string) (*Tailer, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	return &Tailer{path: path, statePath: statePath(stateDir, path), now: time.Now}, nil
}

// Poll reads every complete line added since the last call and returns the
// failures among them, oldest first. A missing file is not an error: the
// log may not exist yet. Events are returned even with a non-nil error when
// only saving the position failed.
func (t *Tailer) Poll() ([]event.Failure, error) {
	var evs []event.Failure
	if t.f == nil {
		if err := t.resume(&evs); err != nil || t.f == nil {
			return evs, err
		}
	} else if err := t.followRotation(&evs); err != nil {
		return evs, err
	}
	if t.first != "" && firstLineHash(t.f) != t.first {
		// Truncated and refilled past our offset between two polls.
		t.off, t.first = 0, ""
	}
	more, off, err := t.readFrom(t.f, t.off)
	evs = append(evs, more...)
	t.off = off
	if t.first == "" {
		t.first = firstLineHash(t.f)
	}
	if err != nil {
		return evs, err
	}
	return evs, saveState(t.statePath, tailState{Path: t.path, Inode: t.ino, Offset: t.off, FirstHash: t.first})
}

// followRotation notices a rename (another inode at the path: finish the
// old file, open the new one at 0) and copytruncate (the file is shorter
// than our offset: start again at 0).
func (t *Tailer) followRotation(evs *[]event.Failure) error {
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // renamed away, new file not created yet: keep the old one
	case err != nil:
		return fmt.Errorf("stat watched log: %w", err)
	case inode(st) != t.ino:
		more, _, err := t.readFrom(t.f, t.off)
		*evs = append(*evs, more...)
		if err != nil {
			return err
		}
		t.f.Close()
		t.f = nil
		return t.open()
	case st.Size() < t.off:
		t.off, t.first = 0, ""
	}
	return nil
}

// resume opens the log for the first time and decides where to start from
// the saved state.
func (t *Tailer) resume(evs *[]event.Failure) error {
	saved, found, err := loadState(t.statePath)
	if err != nil {
		return err
	}
	if err := t.open(); err != nil || t.f == nil {
		return err
	}
	st, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("stat watched log: %w", err)
	}
	switch {
	case !found:
	case saved.Inode == t.ino && (saved.FirstHash == "" || saved.FirstHash == t.first) && st.Size() >= saved.Offset:
		t.off = saved.Offset
	case saved.Inode != t.ino:
		// Rotated while we were down: read the rest of the old file where
		// rotation put it, then the new file from its start.
		if old := t.findRotated(saved); old != nil {
			more, _, err := t.readFrom(old, saved.Offset)
			old.Close()
			*evs = append(*evs, more...)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// open opens the path at offset 0; a missing file leaves t.f nil.
func (t *Tailer) open() error {
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open watched log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat watched log: %w", err)
	}
	t.f, t.ino, t.off, t.first = f, inode(st), 0, firstLineHash(f)
	return nil
}

// findRotated looks beside the log for the file saved was about (same
// inode, same first line), e.g. "fail2ban.log.1" or "fail2ban.log-20261125".
func (t *Tailer) findRotated(saved tailState) *os.File {
	dir, base := filepath.Split(t.path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.Name() == base || !strings.HasPrefix(e.Name(), base) {
			continue
		}
		info, err := e.Info()
		if err != nil || inode(info) != saved.Inode {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if saved.FirstHash == "" || firstLineHash(f) == saved.FirstHash {
			return f
		}
		f.Close()
	}
	return nil
}

// readFrom parses the complete lines of f from off on and returns the
// offset after the last complete line; a line still being written stays
// for the next call.
func (t *Tailer) readFrom(f *os.File, off int64) ([]event.Failure, int64, error) {
	src := io.NewSectionReader(f, off, 1<<62)
	if t.r == nil {
		t.r = bufio.NewReaderSize(src, maxLine)
	} else {
		t.r.Reset(src)
	}
	r := t.r
	var evs []event.Failure
	skipping := false
	for {
		chunk, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			off += int64(len(chunk))
			skipping = true
			continue
		case errors.Is(err, io.EOF):
			return evs, off, nil
		case err != nil:
			return evs, off, fmt.Errorf("read watched log: %w", err)
		}
		off += int64(len(chunk))
		if skipping {
			skipping = false
			continue
		}
		ev, err := Parse(string(chunk))
		if err != nil {
			continue // not a failure line; watched logs may hold others
		}
		if ev.Time.IsZero() {
			ev.Time = t.now() // OS4X's undated form: the best we know
		}
		ev.Source = t.path
		evs = append(evs, ev)
	}
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

// Run polls every interval until ctx ends, passing each failure to emit and
// each error to onErr (nil: ignored), and closes the file at the end.
func (t *Tailer) Run(ctx context.Context, interval time.Duration, emit func(event.Failure), onErr func(error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	defer t.Close()
	for {
		evs, err := t.Poll()
		for _, ev := range evs {
			emit(ev)
		}
		if err != nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Close releases the open file; a later Poll resumes from the saved state.
func (t *Tailer) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}
