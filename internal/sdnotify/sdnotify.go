// Package sdnotify reports the daemon's state to systemd (Type=notify):
// readiness, reloads, shutdown, a status line, and watchdog keep-alives.
// Every call is a no-op when the process was not started by systemd
// (NOTIFY_SOCKET unset), so the daemon runs the same by hand or in tests.
package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends state; it keeps NOTIFY_SOCKET set, since the daemon sends
// more than one message (NotifyAccess=main makes children's messages void).
func notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("notify systemd %q: %w", firstLine(state), err)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Ready tells systemd that start-up (or a reload) is complete: the
// listeners are open and the XDP program is attached. Call it only then.
func Ready() error { return notify(daemon.SdNotifyReady) }

// Reloading tells systemd that a SIGHUP reload began; call Ready when it
// is done. The MONOTONIC_USEC field makes the message also valid for
// Type=notify-reload (systemd 253 and later).
func Reloading() error {
	return notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Stopping tells systemd that the daemon is shutting down.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Status sets the one-line status shown by systemctl status. Newlines in s
// would end the field, so they become spaces. Errors are ignored: a status
// line is informative only.
func Status(s string) {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	_ = notify("STATUS=" + s)
}

// Watchdog sends WATCHDOG=1 at half the WatchdogSec interval until ctx is
// done. It returns at once when the watchdog is off (WATCHDOG_USEC unset or
// meant for another PID). Run it in its own goroutine.
func Watchdog(ctx context.Context, log *slog.Logger) { WatchdogFunc(ctx, log, nil) }

// WatchdogFunc is Watchdog that pings only while healthy returns nil (nil:
// always), so that a stuck daemon is restarted by systemd rather than kept
// alive by a goroutine that still runs. Each failed check is logged.
func WatchdogFunc(ctx context.Context, log *slog.Logger, healthy func() error) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog disabled", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	period := interval / 2
	log.Debug("systemd watchdog on", "timeout", interval, "ping", period)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		ping(log, healthy)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func ping(log *slog.Logger, healthy func() error) {
	if healthy != nil {
		if err := healthy(); err != nil {
			log.Error("health check failed; not pinging the systemd watchdog", "err", err)
			return
		}
	}
	if err := notify(daemon.SdNotifyWatchdog); err != nil {
		log.Warn("systemd watchdog ping", "err", err)
	}
}
