package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/xdp"
)

// DatapathOptions say where and how the XDP program runs.
type DatapathOptions struct {
	Interfaces    []string
	Mode          xdp.Mode
	Config        xdp.Config
	SweepInterval time.Duration
}

// loadDatapath loads the program (reusing pins), attached nowhere yet.
func loadDatapath(o DatapathOptions) (*xdp.Datapath, error) {
	if errs := checkInterfaces(o.Interfaces); len(errs) > 0 {
		return nil, errs[0]
	}
	return xdp.Load(o.Config)
}

// attachDatapath attaches d to every interface. On failure the caller
// abandons d, which takes back what was attached.
func attachDatapath(d *xdp.Datapath, o DatapathOptions, log *slog.Logger) error {
	for _, name := range o.Interfaces {
		mode, err := d.Attach(name, o.Mode)
		if err != nil {
			return err
		}
		if o.Mode == xdp.ModeAuto && mode == xdp.ModeGeneric {
			log.Warn("driver has no native XDP: attached in generic mode, which is slower", "iface", name)
		}
		log.Info("xdp attached", "iface", name, "mode", mode)
	}
	log.Info("xdp loaded", "pin_dir", d.PinDir(), "ports", d.Ports().String(),
		"ipv6_prefix", d.IPv6Prefix(), "max_bans", d.MaxBans())
	return nil
}

// sweepLoop removes expired entries until ctx ends. The kernel ignores
// them already and the jail lifts its own bans when they end; this catches
// entries the jail does not know (written to the pins without the daemon)
// and gives their room back for new bans. It also puts in force bans
// written around xdpban (see banset.Set.Sweep), and checks the program's
// clock.
func sweepLoop(ctx context.Context, set *banset.Set, dp *xdp.Datapath, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	sweep := func() {
		set.Sweep()
		checkClock(dp, log)
	}
	// Once at start too: bans written around xdpban while it was down
	// should not wait a minute to be in force.
	sweep()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep()
		}
	}
}

// checkClock re-measures the clock the program ends bans by (see
// xdp.Datapath.ClockDrift) and warns when it is off by more than a tick.
func checkClock(dp *xdp.Datapath, log *slog.Logger) {
	drift, tick, err := dp.ClockDrift()
	switch {
	case err != nil:
		log.Error("check the ban clock", "err", err)
	case drift.Abs() > tick:
		log.Warn("the XDP program's clock drifted from CLOCK_MONOTONIC by more than a tick: bans end early or late by that much; restart xdpban to measure it again",
			"drift", drift, "tick", tick)
	}
}
