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
