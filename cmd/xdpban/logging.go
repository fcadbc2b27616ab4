package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// parseLogLevel reads --log-level.
func parseLogLevel(s string) (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(s)); err != nil {
		return lv, fmt.Errorf("log-level %q: use debug, info, warn or error", s)
	}
	return lv, nil
}

// newLogger is the daemon's logger: slog's text lines from level up; a
// reload changes the level through it.
// When stderr is the journal (systemd sets JOURNAL_STREAM to its device
// and inode), each line starts with its syslog priority, <3> for errors
// to <7> for debug, which journald strips and keeps as the entry's
// priority, so `journalctl -p warning` finds the warnings; the journal
// stamps the time, so the line leaves it out.
func newLogger(w io.Writer, level slog.Leveler, journal bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if !journal {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	h := &priorityHandler{mu: &sync.Mutex{}, buf: &bytes.Buffer{}, out: w}
	h.inner = slog.NewTextHandler(h.buf, opts)
	return slog.New(h)
}

// stderrIsJournal reports whether stderr is the journal stream systemd
// named in JOURNAL_STREAM (not a pipe a child inherited from it).
func stderrIsJournal() bool {
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(os.Stderr.Fd()), &st); err != nil {
		return false
	}
	return fmt.Sprint(st.Dev) == dev && fmt.Sprint(st.Ino) == ino
}

// priorityHandler prefixes each line of inner with its syslog priority.
// inner writes into buf; mu keeps one record at a time in it (handlers
// made by WithAttrs share both).
type priorityHandler struct {
	mu    *sync.Mutex
	buf   *bytes.Buffer
	out   io.Writer
	inner slog.Handler
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	h.buf.WriteString(priority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.Write(h.buf.Bytes())
	return err
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	return &c
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	return &c
}

// priority is sd-daemon(3)'s prefix for a level.
func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}
