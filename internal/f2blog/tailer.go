package f2blog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// ErrMissing says a watched log does not exist (yet); the Tailer picks it
// up when it appears, so the caller warns and goes on.
var ErrMissing = errors.New("watched log does not exist yet; it is read once it appears")

// TailOptions tune a Tailer; the zero value is usable.
type TailOptions struct {
	// FromStart makes the first start read the whole file as new, undated
	// lines included (--watch-log-from-start). Without it, lines that were
	// in the file when it was first seen count only when they carry their
	// own time within FindTime, as fail2ban counts them.
	FromStart bool
	// FindTime: dated lines older than this are too old and not handed on.
	// 0 hands on every dated line.
	FindTime time.Duration
	// Poll is how often the file is checked without inotify (default
	// 200ms); with inotify it is the longest wait between checks anyway.
	Poll time.Duration
	// DrainIdle is how long a renamed file must stay unchanged before the
	// Tailer stops reading it: its writer may keep writing into it until
	// it reopens the path (default 5s).
	DrainIdle time.Duration
	Now       func() time.Time
	Log       *slog.Logger // warnings about unparsed lines; nil: none
}

// Tailer follows one fail2ban-format log (--watch-log) and hands on each
// failure line as an event.Failure carrying the line's own time, as it
// reads, with memory bounded by one line and one batch whatever the file's
// size.
//
// It follows rename rotation (the renamed file is read to its end for as
// long as its writer keeps writing into it, while the new file is read
// too) and copytruncate (the file shrinking below the offset or its first
// line changing; the rest of the old content is taken from the copy beside
// it). It persists inode, offset and first-line hash in the state dir, so a
// restart resumes exactly where it stopped.
//
// The position is saved before a batch is handed on: a crash right after
// the save loses those events rather than counting them twice.
type Tailer struct {
	path      string
	statePath string
	o         TailOptions
	stats     tailCounters

	cur      *tailFile // the file at path; nil while there is none
	old      *tailFile // renamed away, read until quiet for DrainIdle
	oldQuiet time.Time // when old last grew
	lastWarn time.Time // last unparsed-lines warning
	batch    []pending
	saved    tailState // the position last saved
	// reopen: a cancelled Poll saved a position behind the open files;
	// the next Poll starts again from it.
	reopen bool
}

// NewTailer prepares to follow path, keeping its position in stateDir
// (created 0700 if missing). Open looks at the file.
func NewTailer(path, stateDir string, o TailOptions) (*Tailer, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.DrainIdle <= 0 {
		o.DrainIdle = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tailer{path: path, statePath: statePath(stateDir, path), o: o}, nil
}

// Path is the watched path.
func (t *Tailer) Path() string { return t.path }

// Open looks at the file for the first time and decides where reading
// starts: the saved position, else the start of the file with the rules of
// TailOptions.FromStart. A missing file returns ErrMissing (not fatal);
// a path that is not a regular file or cannot be read returns an error
// that says so.
func (t *Tailer) Open() error {
	saved, found, err := loadState(t.statePath)
	if err != nil {
		return err
	}
	cur, err := openLog(t.path)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("watch-log %s: %w", t.path, ErrMissing)
	}
	t.cur = cur
	size := cur.size()
	switch {
	case !found:
		if !t.o.FromStart {
			cur.undatedFrom = size
		}
	case saved.Inode == cur.ino && (saved.FirstHash == "" || saved.FirstHash == cur.first) && size >= saved.Offset &&
		(saved.BeforeHash == "" || saved.BeforeHash == beforeHash(cur.f, saved.Offset)):
		cur.off, cur.skipping, cur.undatedFrom = saved.Offset, saved.Skipping, saved.UndatedFrom
	case saved.Inode == cur.ino:
		// Truncated while we were down (copytruncate): the rest of the old
		// content from the copy beside the log, then the file from 0.
		if cp := t.findRotated(0, saved.FirstHash, cur.ino); cp != nil {
			cp.off, cp.skipping, cp.undatedFrom = saved.Offset, saved.Skipping, saved.UndatedFrom
			t.old, t.oldQuiet = cp, t.o.Now()
			t.stats.rotations.Add(1)
		}
	default:
		// Rotated while we were down: the rest of the old file where
		// rotation put it, then the new file from its start.
		if old := t.findRotated(saved.Inode, saved.FirstHash, 0); old != nil {
			old.off, old.skipping, old.undatedFrom = saved.Offset, saved.Skipping, saved.UndatedFrom
			t.old, t.oldQuiet = old, t.o.Now()
			t.stats.rotations.Add(1)
		}
	}
	if saved.Old != nil && t.old == nil {
		if old := t.findRotated(saved.Old.Inode, saved.Old.FirstHash, cur.ino); old != nil {
			old.off, old.skipping, old.undatedFrom = saved.Old.Offset, saved.Old.Skipping, saved.Old.UndatedFrom
			t.old, t.oldQuiet = old, t.o.Now()
		}
	}
	// Saved at once, so a crash before the first batch still starts here.
	return t.save(t.state())
}

// openLog opens path for reading without blocking on a FIFO, refuses what
// is not a regular file, and returns nil for a missing one.
func openLog(path string) (*tailFile, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("watch-log %s: cannot read it as %s: %w (give that user read access, e.g. the log's group)", path, whoAmI(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("watch-log %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("watch-log %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("watch-log %s: not a regular file but %s; name the log file itself", path, kindOf(st.Mode()))
	}
	// Reads of a regular file never block; clear the flag anyway.
	syscall.SetNonblock(fd, false)
	return &tailFile{f: f, ino: inode(st), first: firstLineHash(f)}, nil
}

// kindOf names what a path that is not a regular file is.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

// whoAmI names the user the daemon runs as, for permission errors.
func whoAmI() string {
	uid := os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return "user " + u.Username + " (uid " + strconv.Itoa(uid) + ")"
	}
	return "uid " + strconv.Itoa(uid)
}

// Poll checks the path once (rotation, truncation, a file that appeared)
// and reads what was added, handing each failure to emit in batches, each
// after the position was saved. When ctx ends it hands on nothing more
// and saves the position after the last failure handed on, so the rest is
// read again by the next Poll or after a restart: none lost, none twice.
func (t *Tailer) Poll(ctx context.Context, emit func(event.Failure)) error {
	if t.reopen {
		t.reopen = false
		if err := t.Open(); err != nil && !errors.Is(err, ErrMissing) {
			return err
		}
	}
	var errs []error
	if err := t.followPath(ctx, emit); err != nil {
		errs = append(errs, err)
	}
	// t.reopen after a read: ctx ended inside a batch, the files are closed.
	if t.old != nil && !t.reopen {
		grew, err := t.read(ctx, t.old, emit)
		if err != nil {
			errs = append(errs, err)
		}
		if t.reopen {
			return errors.Join(errs...)
		}
		now := t.o.Now()
		switch {
		case grew:
			t.oldQuiet = now
		case now.Sub(t.oldQuiet) >= t.o.DrainIdle:
			t.old.close()
			t.old = nil
		}
	}
	if t.cur != nil && !t.reopen {
		if _, err := t.read(ctx, t.cur, emit); err != nil {
			errs = append(errs, err)
		}
	}
	if t.reopen {
		return errors.Join(errs...)
	}
	if err := t.flush(ctx, emit); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run checks and reads the file whenever inotify reports a change in its
// directory, and at least every Poll (every Poll only, when inotify is
// unavailable), until ctx ends. Each failure goes to emit, each error to
// onErr (nil: ignored). It closes the files at the end.
func (t *Tailer) Run(ctx context.Context, emit func(event.Failure), onErr func(error)) error {
	defer t.Close()
	wake, stop := watchDir(filepath.Dir(t.path), filepath.Base(t.path))
	defer stop()
	tick := time.NewTicker(t.o.Poll)
	defer tick.Stop()
	for {
		if err := t.Poll(ctx, emit); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

// Stats returns the counters of this file.
func (t *Tailer) Stats() TailStats {
	s := t.stats.snapshot()
	s.Path = t.path
	return s
}

// Close releases the open files; a later Open resumes from the saved state.
func (t *Tailer) Close() error {
	var err error
	if t.cur != nil {
		err = t.cur.close()
		t.cur = nil
	}
	if t.old != nil {
		t.old.close()
		t.old = nil
	}
	return err
}

// save persists s as the position.
func (t *Tailer) save(s tailState) error {
	t.saved = s
	return saveState(t.statePath, s)
}

// state is the position of both files now.
func (t *Tailer) state() tailState {
	s := tailState{Path: t.path}
	if t.cur != nil {
		s.Inode, s.Offset, s.FirstHash, s.Skipping = t.cur.ino, t.cur.off, t.cur.first, t.cur.skipping
		s.UndatedFrom = t.cur.undatedFrom
		s.BeforeHash = beforeHash(t.cur.f, t.cur.off)
	}
	if t.old != nil {
		s.Old = &fileState{Inode: t.old.ino, Offset: t.old.off, FirstHash: t.old.first, Skipping: t.old.skipping, UndatedFrom: t.old.undatedFrom}
	}
	return s
}
