package daemon

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/sdnotify"
)

// reloadAll re-reads the configuration (when the daemon was given a way
// to) and applies it, then reloads the certificates and reopens the log,
// as SIGHUP always did. A configuration that cannot be applied whole is
// refused whole: the running one stays, and the error says why.
func (d *daemon) reloadAll() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if d.o.Reread != nil {
		if err := d.applyConfig(); err != nil {
			d.log.Error("reload refused; the running configuration stays", "err", err)
			return err
		}
	}
	d.reload()
	return nil
}

func (d *daemon) applyConfig() error {
	o, err := d.o.Reread()
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	cur := d.applied()
	if what := needsRestart(cur, o); what != "" {
		return fmt.Errorf("reload: %s changed: restart xdpban to apply it (nothing was changed)", what)
	}
	// Everything that can fail comes first; then it is put in force.
	var cfg jail.Config
	if d.jail != nil {
		cfg = o.Jail
		cfg.IPv6Prefix = d.dp.IPv6Prefix()
		if cfg.IgnoreIP, err = withRuntimeIgnores(cfg.IgnoreIP, d.store); err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("reload: %w", err)
		}
	}
	applyListener := func() {}
	if d.lst != nil {
		if applyListener, err = d.lst.Prepare(*o.Listener); err != nil {
			return fmt.Errorf("reload: %w", err)
		}
	}
	if d.dp != nil && o.Datapath.Config.Ports.String() != d.dp.Ports().String() {
		// The last step that can fail: the program is swapped in each link.
		if err := d.dp.SetPorts(o.Datapath.Config.Ports); err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		d.log.Info("protected ports changed", "ports", d.dp.Ports().String())
	}
	applyListener()
	if d.o.Level != nil {
		d.o.Level.Set(o.LogLevel)
	}
	d.hooks.set(o.OnBan, o.OnUnban, o.HookTimeout)
	d.setApplied(o)
	if d.jail == nil {
		d.log.Info("configuration reloaded")
		return nil
	}
	lift, err := d.jail.Reconfigure(cfg)
	if err != nil {
		return fmt.Errorf("reload: applied all but the jail: %w", err)
	}
	d.saveIgnore(cfg.IgnoreSelf)
	var errs []error
	for _, p := range lift {
		if err := d.jail.Unban(p); err != nil && !errors.Is(err, jail.ErrNotBanned) {
			errs = append(errs, err)
		}
	}
	d.log.Info("configuration reloaded", "maxretry", cfg.MaxRetry, "findtime", cfg.FindTime, "bantime", cfg.BanTime,
		"ignoreip", len(cfg.IgnoreIP), "bans_lifted_by_ignoreip", len(lift)-len(errs), "log_level", o.LogLevel)
	if len(errs) > 0 {
		// The new configuration is in force; only these bans stay.
		return fmt.Errorf("reload: applied, but %w", errors.Join(errs...))
	}
	return nil
}

// applied is the configuration in force: the one the daemon started
// with, or the last one a reload applied.
func (d *daemon) applied() Options {
	if o := d.cur.Load(); o != nil {
		return *o
	}
	return d.o
}

func (d *daemon) setApplied(o Options) { d.cur.Store(&o) }

// needsRestart names the first setting that differs between a and b and
// cannot change in a running daemon: what the kernel program's maps were
// made for, what the daemon listens on, the files it owns.
func needsRestart(a, b Options) string {
	type setting struct {
		name string
		x, y any
	}
	for _, s := range []setting{
		{"log-only", a.LogOnly, b.LogOnly},
		{"iface", a.Datapath.Interfaces, b.Datapath.Interfaces},
		{"xdp-mode", a.Datapath.Mode, b.Datapath.Mode},
		// Bans are keyed by the source masked to this prefix: a new one
		// would orphan every IPv6 ban in the map.
		{"ipv6-prefix", a.Datapath.Config.IPv6Prefix, b.Datapath.Config.IPv6Prefix},
		{"max-bans", a.Datapath.Config.MaxBans, b.Datapath.Config.MaxBans},
		{"pin-dir", a.Datapath.Config.PinDir, b.Datapath.Config.PinDir},
		{"sweep-interval", a.Datapath.SweepInterval, b.Datapath.SweepInterval},
		{"listen", listenAddr(a), listenAddr(b)},
		{"fail2ban-log", a.Fail2banLog, b.Fail2banLog},
		{"fail2ban-log-time", a.LogTimeMode, b.LogTimeMode},
		{"watch-log", a.WatchLogs, b.WatchLogs},
		{"state-dir", a.StateDir, b.StateDir},
		{"control-socket", a.ControlSock, b.ControlSock},
		{"metrics", a.Metrics, b.Metrics},
		{"crowdsec (url, keys, machine, interval, filters)", a.CrowdSec, b.CrowdSec},
	} {
		if !reflect.DeepEqual(s.x, s.y) {
			return s.name
		}
	}
	return ""
}

// listenAddr is where the listener listens, "" without one.
func listenAddr(o Options) *string {
	if o.Listener == nil {
		return nil
	}
	return &o.Listener.ListenAddr
}

// reloadRequest is `xdpban reload` over the control socket.
func (d *daemon) reloadRequest(control.Request) (control.Response, error) {
	sdnotify.Reloading()
	defer sdnotify.Ready()
	return control.Response{}, d.reloadAll()
}
