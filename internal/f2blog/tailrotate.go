package f2blog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
	"github.com/xdpban/xdpban/internal/event"
)

// followPath looks at what the path names now. Another inode: the open
// file was renamed away; it becomes old and is read on while its writer
// writes, and the new file is read from its start. The same file, shorter
// than the offset or with another first line: copytruncate; what was
// written before the truncation is read from the copy beside it. No file:
// keep reading the one open (renamed, the new one not created yet).
func (t *Tailer) followPath(ctx context.Context, emit func(event.Failure)) error {
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("watch-log %s: %w", t.path, err)
	}
	if t.cur == nil || inode(st) != t.cur.ino {
		next, err := openLog(t.path)
		if err != nil || next == nil {
			return err
		}
		if t.cur != nil {
			t.stats.rotations.Add(1)
			if t.old != nil {
				// A second rotation before the first went quiet: finish
				// the oldest now, it is two files behind its writer.
				t.read(ctx, t.old, emit)
				if t.reopen {
					next.close()
					return nil
				}
				t.old.close()
			}
			t.old, t.oldQuiet = t.cur, t.o.Now()
		}
		// A file that appears after we first looked holds only new lines.
		t.cur = next
		return nil
	}
	if st.Size() >= t.cur.off && (t.cur.first == "" || firstLineHash(t.cur.f) == t.cur.first) {
		return nil
	}
	t.stats.rotations.Add(1)
	var rerr error
	if cp := t.findRotated(0, t.cur.first, t.cur.ino); cp != nil {
		cp.off, cp.skipping, cp.undatedFrom = t.cur.off, t.cur.skipping, t.cur.undatedFrom
		_, rerr = t.read(ctx, cp, emit)
		cp.close()
		if t.reopen {
			return rerr
		}
	}
	t.cur.off, t.cur.first, t.cur.skipping, t.cur.undatedFrom = 0, "", false, 0
	t.cur.first = firstLineHash(t.cur.f)
	return rerr
}

// findRotated looks beside the log for a file rotation made of the one we
// read: by inode (ino != 0: renamed, e.g. "tls.log.1" or
// "tls.log-20261125") or, with ino 0, by first line on another inode than
// notIno (the copy copytruncate made). It returns nil when none is found.
func (t *Tailer) findRotated(ino uint64, firstHash string, notIno uint64) *tailFile {
	dir, base := filepath.Split(t.path)
	if dir == "" {
		dir = "."
	}
	if ino == 0 && firstHash == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.Name() == base || !strings.HasPrefix(e.Name(), base) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || (ino != 0 && inode(info) != ino) || inode(info) == notIno {
			continue
		}
		tf, err := openLog(filepath.Join(dir, e.Name()))
		if err != nil || tf == nil {
			continue
		}
		if firstHash == "" || tf.first == firstHash {
			return tf
		}
		tf.close()
	}
	return nil
}

// watchDir asks inotify for changes in dir to the log or its rotated
// names and returns a channel that is sent to (without blocking) on each,
// and a stop function. Without inotify (no directory yet, limits reached)
// the channel never fires and the caller's polling does the work.
func watchDir(dir, base string) (<-chan struct{}, func()) {
	wake := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return wake, func() {}
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return wake, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if strings.HasPrefix(filepath.Base(ev.Name), base) {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return wake, func() { w.Close(); <-done }
}
