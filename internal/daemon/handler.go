package daemon

import (
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// handleControl answers the xdpban command over the control socket.
func (d *daemon) handleControl(req control.Request) control.Response {
	switch req.Cmd {
	case "status":
		return control.Response{Status: d.status()}
	case "ban", "unban":
		if d.jail == nil {
			return control.Response{Error: req.Cmd + ": the daemon runs --log-only and bans nothing (stock fail2ban bans)"}
		}
		p, err := xdp.ParseTarget(req.Target)
		if err != nil {
			return control.Response{Error: req.Cmd + ": " + err.Error()}
		}
		// The jail's errors name the prefix already ("ban P: ...").
		if req.Cmd == "unban" {
			if err := d.jail.Unban(p); err != nil {
				return control.Response{Error: err.Error()}
			}
			d.cs.pushUnban(p)
			return control.Response{}
		}
		b, err := d.jail.BanManual(p, req.Duration)
		if err != nil {
			d.logBanError(p.String(), err)
			return control.Response{Error: err.Error()}
		}
		return control.Response{Ban: toControlBan(b)}
	}
	return d.handleOps(req)
}

func (d *daemon) status() *control.Status {
	s := &control.Status{Jail: "xdpban", LogOnly: d.o.LogOnly, Started: d.started, Failures: d.fails.snapshot(), Bans: []control.Ban{}}
	if d.writer != nil {
		s.Files = append(s.Files, d.o.Fail2banLog)
	}
	s.Files = append(s.Files, d.o.WatchLogs...)
	if d.jail == nil {
		for _, n := range s.Failures {
			s.Failed.TotalFailed += uint64(n)
		}
		return s
	}
	s.Failed = d.jail.Stats()
	for _, b := range d.jail.Bans() {
		s.Bans = append(s.Bans, *toControlBan(b))
	}
	// The jail holds a ban past its end until its sweep; the kernel has
	// let the source through since. Count what is listed: bans in force.
	s.Failed.CurrentlyBanned = len(s.Bans)
	s.CrowdSec = d.cs.status()
	return s
}

func toControlBan(b jail.Ban) *control.Ban {
	return &control.Ban{Prefix: b.Prefix.String(), Start: b.Start, End: b.End, Origin: string(b.Origin), Count: b.Count}
}
