package daemon

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
)

// openWatched looks at every --watch-log during start, so the lines a
// file already holds are told from those written after the start, and a
// path that can never work (not a regular file, unreadable) stops the
// start. A missing file is only a warning: it is read once it appears.
func (d *daemon) openWatched() error {
	for _, path := range d.o.WatchLogs {
		t, err := f2blog.NewTailer(path, d.tailerStateDir(), f2blog.TailOptions{
			FromStart: d.o.WatchFromStart,
			FindTime:  d.o.Jail.FindTime,
			Poll:      d.o.WatchPoll,
			Log:       d.log,
		})
		if err != nil {
			return err
		}
		switch err := t.Open(); {
		case errors.Is(err, f2blog.ErrMissing):
			d.log.Warn("watched log does not exist yet; it is read once it appears", "path", path)
		case err != nil:
			t.Close()
			return err
		}
		d.tails = append(d.tails, t)
	}
	return nil
}

// watch follows one fail2ban-format log written by another program (OS4X)
// until ctx ends.
func (d *daemon) watch(ctx context.Context, t *f2blog.Tailer) {
	d.log.Info("watching log", "path", t.Path())
	t.Run(ctx, func(ev event.Failure) {
		d.fails.add(ev.Code)
		d.fail(ev)
	}, func(err error) {
		d.log.Error("watch-log", "path", t.Path(), "err", err)
	})
}

// tailerStateDir keeps watch-log positions next to the store.
func (d *daemon) tailerStateDir() string { return filepath.Join(d.o.StateDir, "watch") }
