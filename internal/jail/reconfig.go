package jail

import (
	"fmt"
	"net/netip"
)

// Reconfigure puts cfg in force for what follows (a reload): maxretry,
// findtime, bantime and its increment, ignoreip, ignoreself. Bans in
// force keep their end. It returns the bans that ignoreip or ignoreself
// now covers, for the caller to lift with Unban. A cfg that does not
// validate changes nothing. Failure records survive unless maxretry or
// max-tracked change, which size the tracker: then counting starts over.
func (j *Jail) Reconfigure(cfg Config) (lift []netip.Prefix, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reconfigure jail: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if cfg.IPv6Prefix != j.cfg.IPv6Prefix {
		return nil, fmt.Errorf("reconfigure jail: ipv6-prefix %d -> %d needs a restart", j.cfg.IPv6Prefix, cfg.IPv6Prefix)
	}
	if cfg.MaxRetry != j.cfg.MaxRetry || cfg.MaxTracked != j.cfg.MaxTracked {
		j.failures = newFailureTimes(cfg.MaxTracked, cfg.MaxRetry)
	}
	j.cfg = cfg
	j.ignore = newIgnoreList(cfg)
	now := j.now()
	j.bans.each(func(b Ban) {
		if b.ActiveAt(now) && j.ignore.CheckBan(b.Prefix, now) != nil {
			lift = append(lift, b.Prefix)
		}
	})
	return lift, nil
}

// Config is the configuration in force: the one New was given, or the
// last one Reconfigure put in force.
func (j *Jail) Config() Config {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cfg
}
