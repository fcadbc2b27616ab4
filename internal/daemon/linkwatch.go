package daemon

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/xdpban/xdpban/internal/xdp"
)

// linkRecheck is how often every --iface is checked without an event: the
// backstop for a netlink subscription that lost messages, and the retry
// of an attach that failed (another program on the interface, say).
const linkRecheck = 5 * time.Second

// linkWatch keeps the program attached to every --iface. A BPF link dies
// with its interface: deleting and creating it again, or reloading its
// driver, leaves the new interface without a program, and nothing would
// say so. The watch follows link changes in the daemon's network
// namespace and attaches again, by name, when the interface is back.
// A renamed interface keeps its ifindex and so its link: it stays
// protected under the new name, until an interface with the configured
// name appears, which the link then moves to.
type linkWatch struct {
	dp    *xdp.Datapath
	names []string
	mode  xdp.Mode
	log   *slog.Logger
	// last is what was last said of each interface, so a state is logged
	// when it begins, not at every check.
	last map[string]string
	// onState hears of every change: whether the program is in force
	// for the interface now.
	onState func(name string, enforcing bool)
}

func newLinkWatch(dp *xdp.Datapath, o DatapathOptions, log *slog.Logger) *linkWatch {
	w := &linkWatch{dp: dp, names: o.Interfaces, mode: o.Mode, log: log, last: map[string]string{}}
	for _, name := range o.Interfaces {
		w.last[name] = "attached" // startDatapath attached them all
	}
	return w
}

// run follows link changes until ctx ends, subscribing again whenever the
// subscription fails, and checks every interface after each
// (re)subscription, on every change, and every linkRecheck.
func (w *linkWatch) run(ctx context.Context) {
	tick := time.NewTicker(linkRecheck)
	defer tick.Stop()
	failing := false
	for ctx.Err() == nil {
		ch, stop, err := w.subscribe(ctx)
		if err != nil && !failing {
			w.log.Error("follow interface changes: checking every "+linkRecheck.String()+" instead", "err", err)
		}
		failing = err != nil
		w.checkAll()
		w.follow(ctx, ch, tick.C)
		stop()
	}
}

// subscribe opens a link subscription in the daemon's network namespace.
// stop ends it and waits until its goroutine has let go of the channel.
func (w *linkWatch) subscribe(ctx context.Context) (<-chan netlink.LinkUpdate, func(), error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, func() {}, err
	}
	defer ns.Close()
	ch := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	err = netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		Namespace: &ns,
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				w.log.Warn("following interface changes", "err", err)
			}
		},
	})
	if err != nil {
		close(done)
		return nil, func() {}, err
	}
	return ch, func() {
		close(done)
		for range ch { // the subscription closes ch once its socket is closed
		}
	}, nil
}

// follow checks the interfaces on every change and tick until ctx ends or
// the subscription closes ch (nil ch: ticks only).
func (w *linkWatch) follow(ctx context.Context, ch <-chan netlink.LinkUpdate, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			w.checkAll()
		case <-tick:
			w.checkAll()
			if ch == nil {
				return // try to subscribe again
			}
		}
	}
}

func (w *linkWatch) checkAll() {
	for _, name := range w.names {
		w.check(name)
	}
}

// check puts the program back on the interface called name if it is not
// there, and logs when the interface's state changes.
func (w *linkWatch) check(name string) {
	s := w.dp.LinkState(name)
	switch {
	case s.Enforcing() && s.Ifindex == s.Named:
		w.set(name, "attached", slog.LevelInfo, "xdp attached", "ifindex", s.Ifindex)
	case s.Enforcing() && s.Named == 0:
		w.set(name, "renamed "+s.Current, slog.LevelWarn, "interface renamed: the program stays attached to it under its new name; it moves to a new interface of the old name if one appears", "now", s.Current, "ifindex", s.Ifindex)
	case s.Named != 0:
		mode, err := w.dp.Reattach(name, w.mode)
		if err != nil {
			w.set(name, "failed "+err.Error(), slog.LevelError, "xdp attach failed: banned sources on this interface are not dropped", "err", err)
			return
		}
		// Always said, even when no check saw the interface gone (it was
		// deleted and created again between two checks).
		w.last[name] = ""
		w.set(name, "attached", slog.LevelInfo, "xdp attached again: the interface came back", "ifindex", s.Named, "mode", mode)
	default:
		w.set(name, "gone", slog.LevelError, "interface gone: banned sources are not dropped on it until it comes back, when xdpban attaches again")
	}
}

// set records the state of name and logs msg when it differs from the last.
func (w *linkWatch) set(name, state string, level slog.Level, msg string, args ...any) {
	if w.last[name] == state {
		return
	}
	w.last[name] = state
	w.log.Log(context.Background(), level, msg, append([]any{"iface", name}, args...)...)
	if w.onState != nil {
		w.onState(name, level < slog.LevelError)
	}
}

// linksDown holds the --iface names the program is not in force on, for
// the line `systemctl status` shows.
type linksDown struct {
	mu    sync.Mutex
	names map[string]bool
}

func (l *linksDown) set(name string, enforcing bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.names == nil {
		l.names = map[string]bool{}
	}
	if enforcing {
		delete(l.names, name)
	} else {
		l.names[name] = true
	}
}

// String is "XDP NOT ATTACHED to a, b; " while some are down, else "".
func (l *linksDown) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.names) == 0 {
		return ""
	}
	names := slices.Sorted(maps.Keys(l.names))
	return "XDP NOT ATTACHED to " + strings.Join(names, ", ") + "; "
}
