package daemon

import (
	"context"
	"log/slog"
)

// Options configure the daemon.
type Options struct {
	Datapath DatapathOptions
}

// Run starts the daemon and blocks until ctx is cancelled (SIGTERM). On
// return the XDP program, maps and links stay pinned: bans keep being
// enforced, and expire, without the daemon.
func Run(ctx context.Context, o Options, log *slog.Logger) error {
	d, err := startDatapath(o.Datapath, log)
	if err != nil {
		return err
	}
	defer d.Close()
	log.Info("xdpban running")
	sweepLoop(ctx, d.Maps, o.Datapath.SweepInterval, log)
	log.Info("xdpban stopping; pinned program keeps enforcing")
	return nil
}
