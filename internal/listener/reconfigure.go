package listener

import (
	"fmt"
	"time"
)

// config is the configuration in force; Reconfigure replaces it whole.
func (l *Listener) config() *Config { return l.cfg.Load() }

// Reconfigure applies next to the running listener: certificate, key, CA
// bundle and CRL files (loaded and checked before anything changes), the
// allow-lists, the backend, the timeouts and the handshake limits. New
// connections get the new settings; established ones keep theirs, and
// handshakes already admitted are not cut when a limit goes down (they
// end within the handshake timeout). On error nothing changed.
//
// What belongs to the daemon and not to the configuration file stays:
// the callbacks, the logger, the known partners, the listen address the
// daemon bound, the IPv6 source prefix (the ban prefix) and the CPU share
// of unknown sources.
func (l *Listener) Reconfigure(next Config) error {
	apply, err := l.Prepare(next)
	if err != nil {
		return err
	}
	apply()
	return nil
}

// Prepare does all of Reconfigure that can fail, and returns what puts
// next in force, so a caller can refuse a reload whole when something
// else of it fails.
func (l *Listener) Prepare(next Config) (apply func(), err error) {
	cur := l.config()
	next.ListenAddr = cur.ListenAddr
	next.SourcePrefixV6 = cur.SourcePrefixV6
	next.Partners = cur.Partners
	next.UnknownHandshakes = cur.UnknownHandshakes
	next.OnFailure, next.OnSuccess, next.OnRefused, next.OnForwardError = cur.OnFailure, cur.OnSuccess, cur.OnRefused, cur.OnForwardError
	next.Logger = cur.Logger
	next, err = next.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("reconfigure listener: %w", err)
	}
	tc, err := loadTLSConfig(next)
	if err != nil {
		return nil, fmt.Errorf("reconfigure listener: %w", err)
	}
	return func() {
		// The limits first: a handshake admitted from here on counts
		// against them, whichever configuration it then reads.
		l.hs.setLimits(next.MaxHandshakes, next.MaxHandshakesPerSource, next.silentGrace())
		l.tlsConf.Store(tc)
		l.cfg.Store(&next)
	}, nil
}

// setLimits changes the bounds for handshakes admitted from now on.
func (t *tracker) setLimits(max, maxPer int, grace time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.max, t.reserve, t.maxPer, t.grace = max, reserveSlots(max), maxPer, grace
}
