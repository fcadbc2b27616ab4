package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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

// startDatapath loads the program (reusing pins) and attaches it to every
// interface; on any failure nothing new stays attached.
func startDatapath(o DatapathOptions, log *slog.Logger) (*xdp.Datapath, error) {
	for _, name := range o.Interfaces {
		if _, err := net.InterfaceByName(name); err != nil {
			return nil, fmt.Errorf("--iface %s: interface not found (list them with `ip link`)", name)
		}
	}
	d, err := xdp.Load(o.Config)
	if err != nil {
		return nil, err
	}
	for _, name := range o.Interfaces {
		mode, err := d.Attach(name, o.Mode)
		if err != nil {
			d.Abandon()
			return nil, err
		}
		if o.Mode == xdp.ModeAuto && mode == xdp.ModeGeneric {
			log.Warn("driver has no native XDP: attached in generic mode, which is slower", "iface", name)
		}
		log.Info("xdp attached", "iface", name, "mode", mode)
	}
	log.Info("xdp loaded", "pin_dir", d.PinDir(), "ports", d.Ports().String(),
		"ipv6_prefix", d.IPv6Prefix(), "max_bans", d.MaxBans())
	return d, nil
}

// sweepLoop removes expired entries until ctx ends. The kernel ignores
// them already and the jail lifts its own bans when they end; this catches
// entries the jail does not know (written to the pins without the daemon)
// and gives their room back for new bans. It also puts in force bans
// written around xdpban (see banset.Set.Sweep).
func sweepLoop(ctx context.Context, set *banset.Set, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	// Once at start too: bans written around xdpban while it was down
	// should not wait a minute to be in force.
	set.Sweep()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			set.Sweep()
		}
	}
}
