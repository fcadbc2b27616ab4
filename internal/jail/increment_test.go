package jail

import (
	"math"
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
	if got := c.banDuration(20, nil); got < 0 {
		t.Errorf("huge ban wrapped to %v (would read as permanent)", got)
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
