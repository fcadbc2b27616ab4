package daemon

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/sdnotify"
)

// failureCounts counts failed handshakes by code for status.
type failureCounts struct {
	mu     sync.Mutex
	byCode map[uint32]int
}

func (c *failureCounts) add(code uint32) {
	c.mu.Lock()
	if c.byCode == nil {
		c.byCode = map[uint32]int{}
	}
	c.byCode[code]++
	c.mu.Unlock()
}

func (c *failureCounts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byCode))
	for code, n := range c.byCode {
		out[strconv.FormatUint(uint64(code), 10)] = n
	}
	return out
}

// failureLog is the log of failures the daemon writes for fail2ban: the
// f2blog.Writer of --fail2ban-log (tests hand in a log that blocks).
type failureLog interface {
	// Line formats the failure's line without writing it.
	Line(event.Failure) string
	// WriteLine appends a line that Line formatted.
	WriteLine(string) error
	Path() string
	Reopen() error
	Close() error
}

// onFailure receives every failed handshake of the listener: first the
// jail, then the log line (what stock fail2ban reads). The ban is in the
// map before the line's write(2), which may sleep (dirty page throttling
// while the gateway writes a large transfer, a journal commit): a ban
// never waits for the disk. A failure that bans is written after its ban
// is stored; the line carries the failure's own time, so fail2ban counts
// it the same, and the jail hands the formatted line to the ban hook.
func (d *daemon) onFailure(ev event.Failure) {
	d.fails.add(ev.Code)
	d.metrics.Handshake(false, ev.Code)
	if d.writer != nil {
		ev.Line = d.writer.Line(ev)
	}
	d.fail(ev)
	if d.writer != nil {
		if err := d.writer.WriteLine(ev.Line); err != nil {
			d.log.Error("write fail2ban log", "err", err)
		}
	}
}

// fail hands a failure to the jail. A ban also ends the address's
// connections still in handshake; its established flows die on their own
// once XDP drops their packets.
func (d *daemon) fail(ev event.Failure) {
	if d.jail == nil {
		return
	}
	d.logFailure(ev)
	b, err := d.jail.Fail(ev)
	if err != nil {
		d.logBanError(ev.Addr.String(), err)
	}
	if b != nil && d.lst != nil {
		d.lst.CloseHandshakes(b.Prefix)
	}
}

// afterBan runs after every ban the jail makes (failures or manual), once
// the ban is in the map and the store (through the ban set). A crash
// between the two writes leaves the ban in the pinned map only, which the
// next start adopts (see internal/banset).
func (d *daemon) afterBan(b jail.Ban, fs []event.Failure) {
	dur := "permanent"
	if !b.Permanent() {
		dur = jail.FormatDuration(b.End.Sub(b.Start))
	}
	cfg := d.jail.Config()
	reason := "manual"
	if b.Origin == jail.OriginJail {
		reason = strconv.Itoa(cfg.MaxRetry) + " failures within " + jail.FormatDuration(cfg.FindTime)
	}
	d.metrics.Ban(string(b.Origin), banLatency(b, fs))
	d.notifyStatus()
	d.log.Info("ban", "prefix", b.Prefix, "duration", dur, "until", b.End, "ban_count", b.Count, "origin", b.Origin, "reason", reason)
	d.hooks.ban(b, fs)
	d.cs.pushBan(b, cfg.MaxRetry)
}

// logBanError logs a ban that did not happen: a refusal by the ignore
// rule is a decision, with its reason; anything else is an error.
func (d *daemon) logBanError(target string, err error) {
	if errors.Is(err, jail.ErrCoversIgnored) {
		d.log.Warn("ban refused", "target", target, "reason", err)
		return
	}
	d.log.Error("ban", "target", target, "err", err)
}

// afterProlong runs after failures while banned pushed a ban's end out;
// the ban set has the new end in the map and the store by then. No ban
// hook runs, as in fail2ban.
func (d *daemon) afterProlong(b jail.Ban) {
	d.log.Info("ban prolonged by failures while banned", "prefix", b.Prefix, "until", b.End)
}

func (d *daemon) afterUnban(b jail.Ban) {
	reason := "manual"
	if !b.ActiveAt(time.Now()) {
		reason = "expired"
	}
	d.metrics.Unban(reason)
	d.notifyStatus()
	d.log.Info("unban", "prefix", b.Prefix, "origin", b.Origin, "reason", reason)
	if b.Origin != jail.OriginCrowdSec { // their bans ran no ban hook either
		d.hooks.unban(b)
	} else {
		d.cs.forget(b.Prefix)
	}
}

// notifyStatus shows the jail's state in `systemctl status`.
func (d *daemon) notifyStatus() {
	s := d.jail.Stats()
	sdnotify.Status(fmt.Sprintf("%s%d banned, %d failing, %d failures counted", d.down.String(), s.CurrentlyBanned, s.CurrentlyFailed, s.TotalFailed))
}
