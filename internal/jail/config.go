package jail

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// MaxRetryLimit bounds maxretry: the jail keeps the last maxretry-1 failure
// times of every tracked address, so memory per address grows with it.
const MaxRetryLimit = 1000

// Config holds the jail options, named after fail2ban's jail.conf keys.
type Config struct {
	MaxRetry int           // maxretry: failures within FindTime that ban
	FindTime time.Duration // findtime
	BanTime  time.Duration // bantime; negative means permanent

	Increment   bool          // bantime.increment
	Factor      float64       // bantime.factor
	Multipliers []int         // bantime.multipliers; when set they replace the formula
	MaxTime     time.Duration // bantime.maxtime; 0 means no cap
	RndTime     time.Duration // bantime.rndtime; 0 means no random extra
	DBPurgeAge  time.Duration // dbpurgeage: how long past bans count for Increment

	IgnoreIP   []netip.Prefix // ignoreip: addresses (as /32, /128) and CIDRs
	IgnoreSelf bool           // ignoreself
	// SelfAddrs returns the host's own addresses for IgnoreSelf. The jail
	// does no I/O, so the caller supplies it; it is called at most once a
	// minute.
	SelfAddrs func() []netip.Addr

	// IPv6Prefix is the prefix length IPv6 failures are counted and banned
	// by; IPv4 is always counted per address.
	IPv6Prefix int
	// MaxTracked caps the addresses with failure records; past it the
	// least recently failing one is dropped.
	MaxTracked int
}

// DefaultConfig returns the defaults of the OS4X jail and of fail2ban 1.0.
// IgnoreSelf is on, as in fail2ban, so the caller must set SelfAddrs (or
// turn IgnoreSelf off) before New accepts it.
func DefaultConfig() Config {
	return Config{
		MaxRetry:   3,
		FindTime:   10 * time.Minute,
		BanTime:    time.Hour,
		Factor:     1,
		DBPurgeAge: 24 * time.Hour,
		IgnoreIP: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"),
			netip.MustParsePrefix("::1/128"),
		},
		IgnoreSelf: true,
		IPv6Prefix: 128,
		MaxTracked: 100000,
	}
}

// Validate returns the first invalid option, naming its fail2ban key.
func (c Config) Validate() error {
	switch {
	case c.MaxRetry < 1:
		return errors.New("maxretry: must be at least 1")
	case c.MaxRetry > MaxRetryLimit:
		return fmt.Errorf("maxretry: must be at most %d", MaxRetryLimit)
	case c.FindTime <= 0:
		return errors.New("findtime: must be positive")
	case c.BanTime == 0:
		return errors.New("bantime: must not be zero (use -1 for permanent)")
	case !(c.Factor > 0) || math.IsInf(c.Factor, 1):
		return errors.New("bantime.factor: must be a positive number")
	case c.MaxTime < 0:
		return errors.New("bantime.maxtime: must not be negative")
	case c.RndTime < 0:
		return errors.New("bantime.rndtime: must not be negative")
	case c.DBPurgeAge < 0:
		return errors.New("dbpurgeage: must not be negative")
	case c.IgnoreSelf && c.SelfAddrs == nil:
		return errors.New("ignoreself: needs SelfAddrs, the function returning the host's addresses")
	case c.IPv6Prefix < 1 || c.IPv6Prefix > 128:
		return errors.New("ipv6prefix: must be between 1 and 128")
	case c.MaxTracked < 1:
		return errors.New("maxtracked: must be at least 1")
	}
	// Each within CheckDuration's range; a negative bantime is permanent.
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"findtime", c.FindTime}, {"bantime", max(c.BanTime, 0)}, {"bantime.maxtime", c.MaxTime},
		{"bantime.rndtime", c.RndTime}, {"dbpurgeage", c.DBPurgeAge}} {
		if err := CheckDuration(d.v); err != nil {
			return fmt.Errorf("%s: %v: %w", d.key, d.v, err)
		}
	}
	for _, m := range c.Multipliers {
		if m < 1 {
			return fmt.Errorf("bantime.multipliers: %d: each must be at least 1", m)
		}
	}
	for _, p := range c.IgnoreIP {
		if !p.IsValid() {
			return fmt.Errorf("ignoreip: %v: not a valid address or CIDR", p)
		}
	}
	return nil
}
