package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/state"
	"github.com/xdpban/xdpban/internal/xdp"
)

// handleOps answers the commands beyond status, ban and unban: the
// operator's bulk and query verbs (unban --all, banned, history, ignore).
func (d *daemon) handleOps(req control.Request) control.Response {
	h, ok := map[string]func(control.Request) (control.Response, error){
		control.CmdUnbanAll:  d.unbanAll,
		control.CmdBanned:    d.banned,
		control.CmdHistory:   d.history,
		control.CmdIgnoreAdd: d.ignoreAdd,
		control.CmdIgnoreDel: d.ignoreDel,
		control.CmdIgnoreLs:  d.ignoreList,
		control.CmdImport:    d.importBans,
		control.CmdExport:    d.exportBans,
	}[req.Cmd]
	if req.Cmd == control.CmdReload {
		resp, err := d.reloadRequest(req)
		if err != nil {
			resp.Error = err.Error()
		}
		return resp
	}
	if !ok {
		return control.Response{Error: fmt.Sprintf("unknown command %q (an xdpban command newer than this daemon? restart it)", req.Cmd)}
	}
	if d.jail == nil {
		return control.Response{Error: req.Cmd + ": the daemon runs --log-only and bans nothing (stock fail2ban bans)"}
	}
	resp, err := h(req)
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// unbanAll lifts every ban of the jail, then whatever else the map holds
// (bans written around the jail), and answers how many were in force.
func (d *daemon) unbanAll(control.Request) (control.Response, error) {
	n := 0
	for _, b := range d.jail.Bans() {
		err := d.jail.Unban(b.Prefix)
		if err != nil && !errors.Is(err, jail.ErrNotBanned) {
			return control.Response{Count: n}, fmt.Errorf("unban --all: %w (%d lifted before it)", err, n)
		}
		if err == nil {
			n++
		}
	}
	// The jail lifts in the map what it does not hold itself.
	rest, err := d.set.List()
	if err != nil {
		return control.Response{Count: n}, fmt.Errorf("unban --all: %w", err)
	}
	for _, b := range rest {
		if err := d.jail.Unban(b.Prefix); err == nil && !b.Expired {
			n++
		}
	}
	return control.Response{Count: n}, nil
}

func (d *daemon) banned(req control.Request) (control.Response, error) {
	out := make([]control.Banned, 0, len(req.Targets))
	for _, t := range req.Targets {
		p, err := xdp.ParseTarget(t)
		if err != nil {
			return control.Response{}, fmt.Errorf("banned: %w", err)
		}
		ans := control.Banned{Target: t}
		if b, ok := d.jail.Covering(p.Addr()); ok && b.Prefix.Bits() <= p.Bits() {
			ans.Ban = toControlBan(b)
		}
		out = append(out, ans)
	}
	return control.Response{Banned: out}, nil
}

func (d *daemon) history(req control.Request) (control.Response, error) {
	a, err := netip.ParseAddr(req.Target)
	if err != nil {
		return control.Response{}, fmt.Errorf("history: %q is not an IP address", req.Target)
	}
	h, err := d.store.History(a)
	if err != nil {
		return control.Response{}, fmt.Errorf("history: %w", err)
	}
	out := &control.History{Target: a.Unmap().String(), Failures: d.jail.Failures(a)}
	for _, b := range h.Starts {
		out.Bans = append(out.Bans, b.Start)
	}
	if b, ok := d.jail.Covering(a); ok {
		out.Current = toControlBan(b)
	}
	return control.Response{History: out}, nil
}

// ignoreAdd adds to ignoreip, keeps it in the store for the next start,
// and lifts the bans it now covers.
func (d *daemon) ignoreAdd(req control.Request) (control.Response, error) {
	p, err := netip.ParsePrefix(req.Target)
	if err != nil {
		return control.Response{}, fmt.Errorf("ignore add: %q is not a CIDR", req.Target)
	}
	if err := d.store.AddIgnoreIP(p); err != nil {
		return control.Response{}, err
	}
	_, covered := d.jail.AddIgnore(p)
	d.saveIgnore(d.jail.Config().IgnoreSelf)
	n := 0
	for _, q := range covered {
		if err := d.jail.Unban(q); err != nil && !errors.Is(err, jail.ErrNotBanned) {
			return control.Response{Count: n}, fmt.Errorf("ignore add %v: lift the ban of %v: %w", p, q, err)
		}
		n++
	}
	resp := d.ignoreState()
	resp.Count = n
	return resp, nil
}

// ignoreDel removes an entry added at runtime; configured entries belong
// to the config file.
func (d *daemon) ignoreDel(req control.Request) (control.Response, error) {
	p, err := netip.ParsePrefix(req.Target)
	if err != nil {
		return control.Response{}, fmt.Errorf("ignore del: %q is not a CIDR", req.Target)
	}
	if slices.Contains(d.applied().Jail.IgnoreIP, p.Masked()) {
		return control.Response{}, fmt.Errorf("ignore del %v: it comes from --ignoreip (the config); remove it there and run xdpban reload", p)
	}
	found, err := d.store.DelIgnoreIP(p)
	if err != nil {
		return control.Response{}, err
	}
	if !d.jail.DelIgnore(p) && !found {
		return control.Response{}, fmt.Errorf("ignore del %v: not in ignoreip (see xdpban ignore list)", p)
	}
	d.saveIgnore(d.jail.Config().IgnoreSelf)
	return d.ignoreState(), nil
}

func (d *daemon) ignoreList(control.Request) (control.Response, error) {
	return d.ignoreState(), nil
}

func (d *daemon) ignoreState() control.Response {
	var list []string
	for _, p := range d.jail.IgnoreIP() {
		list = append(list, p.String())
	}
	return control.Response{Ignore: &list}
}

// withRuntimeIgnores adds the entries of `xdpban ignore add` kept in the
// store to the configured ignoreip.
func withRuntimeIgnores(cfg []netip.Prefix, store interface {
	IgnoreIP() ([]netip.Prefix, error)
}) ([]netip.Prefix, error) {
	extra, err := store.IgnoreIP()
	if err != nil {
		return nil, err
	}
	out := slices.Clone(cfg)
	for _, p := range extra {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// exportBans answers every ban in force, as status lists them.
func (d *daemon) exportBans(control.Request) (control.Response, error) {
	s := &control.Status{Bans: []control.Ban{}}
	for _, b := range d.jail.Bans() {
		s.Bans = append(s.Bans, *toControlBan(b))
	}
	return control.Response{Status: s}, nil
}

// saveIgnore keeps the ignore list where xdpban ban without a daemon
// reads it, so that it refuses what this daemon now refuses, and gives it
// to the listener, which treats ignoreip as known partners.
func (d *daemon) saveIgnore(self bool) {
	ignore := d.jail.IgnoreIP()
	// ignoreip is known partners too: reserved handshake capacity.
	if d.known != nil {
		d.known.SetPrefixes(ignore)
	}
	if err := state.SaveIgnore(d.o.StateDir, state.Ignore{IgnoreIP: ignore, IgnoreSelf: self}); err != nil {
		d.log.Error("bans made without the daemon will use an older ignoreip", "err", err)
	}
}
