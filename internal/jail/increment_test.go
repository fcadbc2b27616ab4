package jail

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestBanDurationSequence(t *testing.T) {
	const h = time.Hour
	tests := []struct {
		name   string
		mutate func(*Config)
		rnd    float64
		want   []time.Duration // for prior = 0, 1, 2, ...
	}{
		{"no increment stays bantime", func(c *Config) {}, 0,
			[]time.Duration{h, h, h, h}},
		{"default formula doubles from the second ban", func(c *Config) { c.Increment = true }, 0,
			[]time.Duration{h, 2 * h, 4 * h, 8 * h, 16 * h}},
		{"factor multiplies", func(c *Config) { c.Increment = true; c.Factor = 3 }, 0,
			[]time.Duration{h, 6 * h, 12 * h, 24 * h}},
		{"factor below 1 never shortens below bantime", func(c *Config) { c.Increment = true; c.Factor = 0.1 }, 0,
			[]time.Duration{h, h, h, h, 16 * h / 10}},
		{"maxtime caps", func(c *Config) { c.Increment = true; c.MaxTime = 5 * h }, 0,
			[]time.Duration{h, 2 * h, 4 * h, 5 * h, 5 * h}},
		{"multipliers replace the formula, last one repeats", func(c *Config) {
			c.Increment = true
			c.Multipliers = []int{1, 5, 30}
		}, 0, []time.Duration{h, 5 * h, 30 * h, 30 * h}},
		{"multipliers with factor", func(c *Config) {
			c.Increment = true
			c.Multipliers = []int{1, 2}
			c.Factor = 1.5
		}, 0, []time.Duration{h, 3 * h, 3 * h}},
		{"rndtime adds up to rndtime, not on the first ban", func(c *Config) {
			c.Increment = true
			c.RndTime = 10 * time.Minute
		}, 0.5, []time.Duration{h, 2*h + 5*time.Minute, 4*h + 5*time.Minute}},
		{"rndtime after maxtime", func(c *Config) {
			c.Increment = true
			c.MaxTime = h
			c.RndTime = 10 * time.Minute
		}, 0.5, []time.Duration{h, h + 5*time.Minute}},
		{"permanent is never incremented", func(c *Config) { c.Increment = true; c.BanTime = -1 }, 0,
			[]time.Duration{-1, -1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.mutate(&c)
			for prior, want := range tt.want {
				if got := c.banDuration(prior, func() float64 { return tt.rnd }); got != want {
					t.Errorf("prior %d: got %v, want %v", prior, got, want)
				}
			}
		})
	}
}

func TestBanDurationExponentStopsAt20(t *testing.T) {
	c := testConfig()
	c.Increment = true
	c.BanTime = time.Second
	want := time.Duration(1<<20) * time.Second
	for _, prior := range []int{20, 21, 1000} {
		if got := c.banDuration(prior, nil); got != want {
			t.Errorf("prior %d: got %v, want %v", prior, got, want)
		}
	}
	c.BanTime = time.Duration(math.MaxInt64 / 2)
	if got := c.banDuration(20, nil); got != MaxDuration {
		t.Errorf("huge ban: %v, want it clamped to %v", got, MaxDuration)
	}
}

// TestIncrementClampsAtMaxDuration: without maxtime the formula reaches
// 2^20 bantimes; with a year's bantime that would overflow the ban's end
// and write a ban already over. Every way there stops at MaxDuration.
func TestIncrementClampsAtMaxDuration(t *testing.T) {
	year := durationYear
	for name, mutate := range map[string]func(*Config){
		"formula":     func(c *Config) {},
		"factor":      func(c *Config) { c.BanTime = time.Hour; c.Factor = 1e12 },
		"multipliers": func(c *Config) { c.Multipliers = []int{1, math.MaxInt} },
		"rndtime":     func(c *Config) { c.BanTime = 99 * year; c.Factor = 0.5; c.RndTime = 100 * year },
	} {
		c := testConfig()
		c.Increment = true
		c.BanTime = year
		mutate(&c)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, prior := range []int{1, 20, 1000} {
			got := c.banDuration(prior, func() float64 { return 0.999 })
			if got <= 0 || got > MaxDuration {
				t.Errorf("%s, prior %d: %v, want within (0, %v]", name, prior, got, MaxDuration)
			}
		}
		if got := c.banDuration(20, func() float64 { return 0.999 }); got != MaxDuration {
			t.Errorf("%s: 20th ban lasts %v, want the maximum %v", name, got, MaxDuration)
		}
	}

	// Through the jail: a repeat offender's ban still ends in the future.
	cfg := testConfig()
	cfg.Increment = true
	cfg.BanTime = 10 * year
	j, enf, clk := newTestJail(t, cfg)
	p := netip.MustParsePrefix("198.18.5.5/32")
	for i := 0; i < 6; i++ {
		b, err := j.BanManual(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		if end := enf.active[p]; !end.After(clk.Now()) || b.End.Sub(b.Start) > MaxDuration {
			t.Fatalf("ban %d ends %v (now %v), lasts %v", i+1, end, clk.Now(), b.End.Sub(b.Start))
		}
	}
}

func TestFactorMustBeANumber(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), -1, 0} {
		c := testConfig()
		c.Factor = f
		if err := c.Validate(); err == nil {
			t.Errorf("factor %v accepted", f)
		}
	}
}

// TestManualBanDurationChecked: a control request carries a number any
// client may have written; the jail refuses what the parser would.
func TestManualBanDurationChecked(t *testing.T) {
	j, enf, _ := newTestJail(t, testConfig())
	p := netip.MustParsePrefix("198.18.5.6/32")
	for _, d := range []time.Duration{time.Millisecond, MaxDuration + time.Second, math.MaxInt64} {
		if _, err := j.BanManual(p, d); err == nil {
			t.Errorf("manual ban for %v accepted", d)
		}
	}
	if enf.bans != 0 {
		t.Errorf("%d refused bans reached the enforcer", enf.bans)
	}
}

func TestRndTimeBounded(t *testing.T) {
	c := testConfig()
	c.Increment = true
	c.RndTime = time.Minute
	for _, r := range []float64{0, 0.25, 0.999999} {
		got := c.banDuration(1, func() float64 { return r })
		if got < 2*time.Hour || got >= 2*time.Hour+time.Minute {
			t.Errorf("rnd %v: %v outside [2h, 2h1m)", r, got)
		}
	}
}

func TestRetryWeight(t *testing.T) {
	c := testConfig()
	c.MaxRetry = 100
	if got := c.retryWeight(5); got != 1 {
		t.Errorf("without increment: %d, want 1", got)
	}
	c.Increment = true
	for prior, want := range []int{1, 2, 3, 5, 9, 17} {
		if got := c.retryWeight(prior); got != want {
			t.Errorf("prior %d: %d, want %d", prior, got, want)
		}
	}
	c.MaxRetry = 3
	if got := c.retryWeight(10); got != 3 {
		t.Errorf("capped at maxretry: %d, want 3", got)
	}
}
