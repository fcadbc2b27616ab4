package jail

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigMatchesOS4XJail(t *testing.T) {
	c := DefaultConfig()
	if c.MaxRetry != 3 || c.FindTime != 10*time.Minute || c.BanTime != time.Hour ||
		c.DBPurgeAge != 24*time.Hour || c.Factor != 1 || !c.IgnoreSelf || c.IPv6Prefix != 128 {
		t.Fatalf("defaults changed: %+v", c)
	}
	if err := testConfig().Validate(); err != nil {
		t.Fatalf("defaults with SelfAddrs invalid: %v", err)
	}
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "ignoreself:") {
		t.Fatalf("ignoreself without SelfAddrs: got %v", err)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"maxretry:", func(c *Config) { c.MaxRetry = 0 }},
		{"maxretry:", func(c *Config) { c.MaxRetry = MaxRetryLimit + 1 }},
		{"findtime:", func(c *Config) { c.FindTime = 0 }},
		{"bantime:", func(c *Config) { c.BanTime = 0 }},
		{"bantime.factor:", func(c *Config) { c.Factor = 0 }},
		{"bantime.maxtime:", func(c *Config) { c.MaxTime = -time.Second }},
		{"bantime.rndtime:", func(c *Config) { c.RndTime = -time.Second }},
		{"bantime.multipliers:", func(c *Config) { c.Multipliers = []int{1, 0} }},
		{"dbpurgeage:", func(c *Config) { c.DBPurgeAge = -time.Second }},
		{"ipv6prefix:", func(c *Config) { c.IPv6Prefix = 129 }},
		{"ipv6prefix:", func(c *Config) { c.IPv6Prefix = 0 }},
		{"maxtracked:", func(c *Config) { c.MaxTracked = 0 }},
		{"ignoreip:", func(c *Config) { c.IgnoreIP = []netip.Prefix{{}} }},
	}
	for _, tt := range tests {
		c := testConfig()
		tt.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.key) {
			t.Errorf("want error starting %q, got %v", tt.key, err)
		}
	}
	c := testConfig()
	c.BanTime = -1
	if err := c.Validate(); err != nil {
		t.Errorf("permanent bantime rejected: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"600", 600 * time.Second},
		{"10m", 10 * time.Minute},
		{"1h", time.Hour},
		{"1d", 24 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"2weeks", 14 * 24 * time.Hour},
		{"1d 12h", 36 * time.Hour},
		{"1d12h30m", 36*time.Hour + 30*time.Minute},
		{"3 hours", 3 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"-1", -time.Second},
		{"-1d", -24 * time.Hour},
		{" 42 ", 42 * time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "abc", "10x", "1mo", "h", "1d-", "99999999999w"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, d)
		} else if !strings.HasPrefix(err.Error(), "parse duration") {
			t.Errorf("ParseDuration(%q) error %q lacks context", bad, err)
		}
	}
}
