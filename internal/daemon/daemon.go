package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/metrics"
	"github.com/xdpban/xdpban/internal/sdnotify"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/xdp"
)

// daemon holds the running parts. Fields are set once by start.
type daemon struct {
	o       Options
	log     *slog.Logger
	started time.Time

	store  *state.Store
	dp     *xdp.Datapath
	set    *banset.Set
	jail   *jail.Jail
	writer failureLog // nil without a log
	lst    *listener.Listener
	known  *listener.Partners
	tcp    net.Listener
	ctl    net.Listener
	hooks  *hooks
	fails  failureCounts
	down   linksDown
	tails  []*f2blog.Tailer // one per --watch-log
	cs     *csLink          // nil without --crowdsec-url

	metrics   *metrics.Metrics
	metricsLn net.Listener

	reloadMu sync.Mutex              // one reload at a time (SIGHUP, xdpban reload)
	cur      atomic.Pointer[Options] // what the last reload applied; nil: o
}

// Run starts the daemon and blocks until ctx is cancelled (SIGTERM). A
// start that fails undoes what it did and returns one error. On return the
// XDP program, maps and links stay pinned: bans keep being enforced, and
// expire, without the daemon.
func Run(ctx context.Context, o Options, log *slog.Logger) error {
	if err := o.Validate(); err != nil {
		return err
	}
	// Missing capabilities are named before anything is opened, however
	// bpffs is mounted; log-only mode touches no BPF and needs none.
	if !o.LogOnly {
		if err := xdp.CheckDaemonPrivileges(); err != nil {
			return err
		}
	}
	d := &daemon{o: o, log: log, started: time.Now()}
	if err := d.start(); err != nil {
		d.abandon()
		return err
	}
	defer d.close()
	if err := sdnotify.Ready(); err != nil {
		log.Warn("tell systemd we are ready", "err", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	d.goRun(&wg, ctx)
	log.Info("xdpban running", "log_only", o.LogOnly, "listen", d.listenAddr(), "fail2ban_log", o.Fail2banLog, "watch", o.WatchLogs)
	d.waitSignals(ctx)

	log.Info("xdpban stopping")
	sdnotify.Stopping()
	if d.lst != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), o.DrainTimeout)
		if err := d.lst.Shutdown(dctx); err != nil && !errors.Is(err, listener.ErrClosed) {
			log.Warn("listener drain", "err", err)
		}
		dcancel()
	}
	cancel()
	wg.Wait()
	if d.dp != nil {
		log.Info("pinned XDP program keeps enforcing bans while xdpban is down")
	}
	return nil
}

// start opens everything that can fail before anything starts serving:
// configuration errors surface before the first packet is affected.
func (d *daemon) start() error {
	o := d.o
	// Readers in the registry look at d.dp and d.jail only at scrape
	// time, after start has set them.
	d.metrics = d.newMetrics()
	if err := d.openMetrics(); err != nil {
		return err
	}
	if o.Listener != nil {
		cfg := *o.Listener
		cfg.OnFailure = d.onFailure
		cfg.OnSuccess = d.onSuccess
		cfg.OnRefused = d.onRefused
		cfg.OnForwardError = d.metrics.ForwardError
		cfg.Logger = d.log
		d.known = listener.NewPartners(listener.DefaultPartnerAge, listener.DefaultMaxPartners, o.Jail.IgnoreIP)
		cfg.Partners = d.known
		// Unknown sources' handshakes compute one per CPU, on threads at
		// idle priority. As many extra Ps keep a P free for partners and
		// forwarding while all of those run, so the kernel can put them
		// first; without it they would wait for a P behind idle threads.
		cfg.UnknownHandshakes = cpus()
		runtime.GOMAXPROCS(2 * cfg.UnknownHandshakes)
		lst, err := listener.New(cfg)
		if err != nil {
			return err
		}
		d.lst = lst
		if d.tcp, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.ListenAddr, err)
		}
	}
	// Only the listener writes the log; watched logs are read, not copied.
	if o.Fail2banLog != "" && o.Listener != nil {
		if err := os.MkdirAll(filepath.Dir(o.Fail2banLog), 0o755); err != nil {
			return fmt.Errorf("fail2ban-log: %w", err)
		}
		w, err := f2blog.OpenWriter(o.Fail2banLog, o.LogTimeMode)
		if err != nil {
			return err
		}
		d.writer = w
	}
	ctl, err := control.Listen(o.ControlSock)
	if err != nil {
		return fmt.Errorf("control-socket: %w", err)
	}
	d.ctl = ctl
	// The CrowdSec link's files are read before the kernel is touched; it
	// talks to LAPI only once the jail runs.
	if err := d.startCrowdSec(); err != nil {
		return err
	}
	// The datapath comes last: a start that fails before it leaves the
	// kernel untouched, and abandon undoes it when something after fails.
	if !o.LogOnly {
		if err := d.openWatched(); err != nil {
			return err
		}
		if err := d.startJail(); err != nil {
			return err
		}
	}
	return nil
}

func (d *daemon) startJail() error {
	o := d.o
	// From the store's open to the end of the restore a start allocates
	// in one burst what the store holds (a million bans: a few hundred
	// MB) and frees most of it at the end (see restore); the collector,
	// which could free none of it before, would only take CPU from the
	// kernel's inserts. Nothing is served before both are done.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("state-dir %s: %w", o.StateDir, err)
	}
	// The program loads while the store is read through: each takes a
	// tenth of a second at a million bans and needs nothing of the
	// other. Load takes the pins' lock, so a second daemon fails there
	// or at the store's; the program is attached only once both opened,
	// and abandon undoes a load whose store failed.
	type loaded struct {
		dp  *xdp.Datapath
		err error
	}
	loading := make(chan loaded, 1)
	go func() {
		dp, err := loadDatapath(o.Datapath)
		loading <- loaded{dp, err}
	}()
	store, warn, err := state.OpenKeepingBans(o.StateDir)
	l := <-loading
	d.dp = l.dp
	if err != nil {
		return err
	}
	d.store = store
	if warn != nil {
		d.log.Error("state store was unreadable and was moved aside; starting with an empty one (pinned bans still hold)", "warning", warn.String())
	}
	d.restorePartners() // before anything can fail: close saves them back
	if l.err != nil {
		return l.err
	}
	if err := attachDatapath(d.dp, o.Datapath, d.log); err != nil {
		return err
	}
	if err := d.dp.RecordControlSocket(o.ControlSock); err != nil {
		return err
	}
	d.set = banset.New(d.dp.BanMap(), store, d.log, d.metrics.Evicted)
	d.hooks = newHooks(o.OnBan, o.OnUnban, o.HookTimeout, d.log)
	d.hooks.failed = d.metrics.HookFailed
	if d.writer != nil {
		d.hooks.logs = append(d.hooks.logs, d.writer.Path())
	}
	d.hooks.logs = append(d.hooks.logs, o.WatchLogs...)
	cfg := o.Jail
	cfg.IPv6Prefix = d.dp.IPv6Prefix()
	if cfg.IgnoreIP, err = withRuntimeIgnores(cfg.IgnoreIP, store); err != nil {
		return err
	}
	// `xdpban ban` without a daemon applies the same ignore rule.
	if err := state.SaveIgnore(o.StateDir, state.Ignore{IgnoreIP: cfg.IgnoreIP, IgnoreSelf: cfg.IgnoreSelf}); err != nil {
		d.log.Error("bans made without the daemon will use the default ignoreip", "err", err)
	}
	d.jail, err = jail.New(cfg, d.set, jail.WithHistory(d.set), jail.WithOnBan(d.afterBan), jail.WithOnUnban(d.afterUnban), jail.WithOnProlong(d.afterProlong))
	if err != nil {
		return err
	}
	return d.restore()
}

// goRun starts the loops that live as long as ctx.
func (d *daemon) goRun(wg *sync.WaitGroup, ctx context.Context) {
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	spawn(func() { control.Serve(ctx, d.ctl, d.handleControl, d.log) })
	spawn(func() { sdnotify.WatchdogFunc(ctx, d.log, d.healthy) })
	if d.metricsLn != nil {
		spawn(func() { d.serveMetrics(ctx) })
	}
	if d.lst != nil {
		spawn(func() {
			if err := d.lst.Serve(d.tcp); err != nil && !errors.Is(err, listener.ErrClosed) {
				d.log.Error("tls listener stopped", "err", err)
			}
		})
	}
	if d.jail != nil {
		spawn(func() { d.expireLoop(ctx) })
		spawn(func() { sweepLoop(ctx, d.set, d.dp, d.o.Datapath.SweepInterval, d.log) })
		w := newLinkWatch(d.dp, d.o.Datapath, d.log)
		w.onState = func(name string, enforcing bool) {
			d.down.set(name, enforcing)
			d.notifyStatus()
		}
		spawn(func() { w.run(ctx) })
		for _, t := range d.tails {
			spawn(func() { d.watch(ctx, t) })
		}
		if d.cs != nil {
			d.cs.run(ctx, spawn)
		}
	}
}

// waitSignals handles SIGHUP (reload certificates, reopen the log) until
// ctx ends.
func (d *daemon) waitSignals(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			d.reloadAll()
		}
	}
}

// healthy is the watchdog's check: it blocks if the jail is wedged, so
// systemd restarts a daemon that hangs rather than one that crashed.
func (d *daemon) healthy() error {
	if d.jail != nil {
		d.jail.Stats()
	}
	return nil
}

func (d *daemon) reload() {
	sdnotify.Reloading()
	defer sdnotify.Ready()
	if d.lst != nil {
		if err := d.lst.Reload(); err != nil {
			d.log.Error("reload certificates: kept the old ones", "err", err)
		} else {
			d.log.Info("certificates, CA bundle and CRL reloaded")
		}
	}
	if d.writer != nil {
		if err := d.writer.Reopen(); err != nil {
			d.log.Error("reopen fail2ban log", "err", err)
		}
	}
}

func (d *daemon) expireLoop(ctx context.Context) {
	t := time.NewTicker(d.o.ExpireEvery)
	defer t.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	partners := time.NewTicker(partnerSaveEvery)
	defer partners.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.jail.Expire()
		case <-partners.C:
			d.savePartners()
		case <-purge.C:
			if _, err := d.store.PurgeHistory(time.Now().Add(-d.jail.Config().DBPurgeAge)); err != nil {
				d.log.Error("purge ban history", "err", err)
			}
		}
	}
}

func (d *daemon) listenAddr() string {
	if d.tcp == nil {
		return ""
	}
	return d.tcp.Addr().String()
}

// abandon undoes a start that failed: like close, but pins this start
// created are removed too, so a failed first start leaves no program
// attached (an earlier run's pins and bans stay).
func (d *daemon) abandon() {
	dp := d.dp
	d.dp = nil
	d.close()
	if dp != nil {
		if err := dp.Abandon(); err != nil {
			d.log.Error("undo failed start", "err", err)
		}
	}
}

// close releases everything start opened, in reverse order. Pins stay.
func (d *daemon) close() {
	if d.ctl != nil {
		// Closing removes the socket, then releases its lock: removing
		// the path by name could delete the next daemon's socket.
		d.ctl.Close()
	}
	if d.tcp != nil {
		d.tcp.Close()
	}
	if d.metricsLn != nil {
		d.metricsLn.Close()
	}
	if d.dp != nil {
		d.dp.Close()
	}
	if d.store != nil {
		d.savePartners()
		d.store.Close()
	}
	if d.writer != nil {
		d.writer.Close()
	}
	for _, t := range d.tails {
		t.Close()
	}
}

// SelfAddrs lists the host's addresses for ignoreself.
func SelfAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}
