package f2blog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/xdpban/xdpban/internal/event"
)

// Writer appends failure lines to a fail2ban log. Each line goes out in a
// single write(2) on an O_APPEND descriptor, so concurrent writers and
// copytruncate never see half a line. Before each write it compares the
// inode at the path with the open file's, so a rename rotation is followed
// without a signal; Reopen is for SIGHUP from logrotate.
type Writer struct {
	mu   sync.Mutex
	path string
	mode TimeMode
	f    *os.File
	ino  uint64
}

// DefaultLogPath is where the daemon writes its fail2ban log by default;
// the shipped fail2ban jail reads the same path.
const DefaultLogPath = "/var/log/xdpban/tls.log"

// logPerm is the mode a Writer creates its log with.
const logPerm = 0o640

// OpenWriter opens (creating, mode 0640) path for appending.
func OpenWriter(path string, mode TimeMode) (*Writer, error) {
	w := &Writer{path: path, mode: mode}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, logPerm)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log: %w", err)
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.ino = f, inode(st)
	return nil
}

// Log writes f as one line and returns the line (without newline).
func (w *Writer) Log(f event.Failure) (string, error) {
	line := w.Line(f)
	return line, w.WriteLine(line)
}

// Line formats f as Log writes it, without writing anything: a caller can
// hand the line on before it is written.
func (w *Writer) Line(f event.Failure) string { return Format(f, w.mode) }

// WriteLine appends line (from Line, without newline) to the log.
func (w *Writer) WriteLine(line string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("write log: %w", os.ErrClosed)
	}
	if err := w.followRename(); err != nil {
		return err
	}
	// One write per line: with O_APPEND the kernel places it atomically at
	// the end, even right after a copytruncate. (*os.File).Write reports a
	// short write as io.ErrShortWrite.
	buf := make([]byte, 0, len(line)+1)
	if _, err := w.f.Write(append(append(buf, line...), '\n')); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

// followRename reopens the path when the file was renamed or removed since
// it was opened. A rename that lands between this check and the write puts
// the line at the end of the renamed file, which is still a kept line.
func (w *Writer) followRename() error {
	st, err := os.Stat(w.path)
	if err == nil && inode(st) == w.ino {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat log: %w", err)
	}
	return w.open()
}

// Reopen closes and reopens the path (SIGHUP after rotation).
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.open()
}

// Close closes the file; later Log calls fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Path returns the log's path.
func (w *Writer) Path() string { return w.path }

func inode(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}
