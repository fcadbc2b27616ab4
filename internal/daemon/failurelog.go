package daemon

import (
	"context"
	"log/slog"

	"github.com/xdpban/xdpban/internal/event"
)

// logFailure writes one line per failure as fail2ban does: "found" at
// info for a failure the jail counts, "ignore" at debug for one that
// ignoreip or ignoreself covers. The address is the numeric peer and the
// source our own label: no client text reaches the line.
func (d *daemon) logFailure(ev event.Failure) {
	if d.jail.Ignores(ev.Addr) {
		if d.log.Enabled(context.Background(), slog.LevelDebug) {
			d.log.Debug("ignore failure by ignoreip", "addr", ev.Addr.Unmap(), "source", ev.Source)
		}
		return
	}
	d.log.Info("found failure", "addr", ev.Addr.Unmap(), "code", ev.Code, "source", ev.Source)
}
