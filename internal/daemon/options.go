package daemon

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
)

// Options configure the daemon; cmd/xdpban fills them from flags, the
// environment and the config file.
type Options struct {
	// LogOnly writes the fail2ban log and bans nothing: no BPF, no jail;
	// stock fail2ban reads the log and bans.
	LogOnly  bool
	Datapath DatapathOptions
	Jail     jail.Config
	// Listener is nil when --listen is "".
	Listener *listener.Config
	CrowdSec CrowdSecOptions

	Fail2banLog string // "" disables
	LogTimeMode f2blog.TimeMode
	WatchLogs   []string
	// WatchFromStart reads a watched log never seen before from its start
	// as new, undated lines included (--watch-log-from-start).
	WatchFromStart bool
	WatchPoll      time.Duration
	StateDir       string
	ControlSock    string
	Metrics        string // "" disables
	OnBan          string // shell command run after a ban
	OnUnban        string
	HookTimeout    time.Duration
	ExpireEvery    time.Duration
	DrainTimeout   time.Duration

	// LogLevel is the level of the daemon's log, and Level the logger's
	// own setting of it, which a reload sets to LogLevel (nil: fixed).
	LogLevel slog.Level
	Level    *slog.LevelVar

	// Version is the release, for xdpban_build_info.
	Version string

	// Reread reads the configuration again, as the daemon was started
	// (command line, environment, --config), for a reload; nil: a reload
	// only reloads certificates and reopens the log.
	Reread func() (Options, error)
}

// Validate checks what the flags alone cannot: combinations.
func (o *Options) Validate() error {
	if o.StateDir == "" {
		return fmt.Errorf("state-dir: must not be empty")
	}
	if err := o.checkWatchLogs(); err != nil {
		return err
	}
	if !o.LogOnly {
		if err := o.Jail.Validate(); err != nil {
			return err
		}
		if len(o.Datapath.Interfaces) == 0 {
			return fmt.Errorf("iface: name the interface(s) XDP attaches to, or run with --log-only")
		}
	}
	if err := o.CrowdSec.validate(o.LogOnly); err != nil {
		return err
	}
	if o.LogOnly && len(o.WatchLogs) > 0 {
		// Only the jail reads watched logs, and log-only mode runs none:
		// the failures would be read and dropped.
		return fmt.Errorf("watch-log: with --log-only nothing bans what %s reports; point stock fail2ban at it, or drop --log-only", o.WatchLogs[0])
	}
	if o.LogOnly && o.Listener == nil {
		return fmt.Errorf("log-only: needs the listener (--listen); with neither listener nor bans there is nothing to do")
	}
	if o.Listener != nil && o.Fail2banLog == "" && o.LogOnly {
		return fmt.Errorf("fail2ban-log: log-only mode exists to write that log; give a path")
	}
	if o.WatchPoll <= 0 {
		o.WatchPoll = 200 * time.Millisecond
	}
	if o.HookTimeout <= 0 {
		o.HookTimeout = 30 * time.Second
	}
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	return nil
}
