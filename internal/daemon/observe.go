package daemon

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/metrics"
	"github.com/xdpban/xdpban/internal/xdp"
)

// newMetrics builds the registry with readers that ask the datapath and
// the jail at scrape time, so the values are live.
func (d *daemon) newMetrics() *metrics.Metrics {
	var xdpReader metrics.XDPReader
	if !d.o.LogOnly {
		xdpReader = func() (metrics.XDPSnapshot, error) {
			if d.dp == nil || d.jail == nil {
				return metrics.XDPSnapshot{}, errors.New("datapath not started yet")
			}
			c, err := d.dp.Counters()
			if err != nil {
				return metrics.XDPSnapshot{}, err
			}
			per := make(map[string]metrics.PacketCounts, len(d.o.Datapath.Interfaces))
			attached := make(map[string]bool, len(d.o.Datapath.Interfaces))
			for _, name := range d.o.Datapath.Interfaces {
				// The kernel's word, not what start did: an interface
				// deleted and created again has no program until the
				// link watch attaches it again.
				ls := d.dp.LinkState(name)
				attached[name] = ls.Enforcing()
				ifindex := ls.Ifindex
				if ifindex == 0 {
					ifindex = ls.Named
				}
				if ifindex == 0 {
					continue // gone: its counters are only in the total
				}
				ic, err := d.dp.InterfaceCounters(ifindex)
				if err != nil {
					return metrics.XDPSnapshot{}, err
				}
				per[name] = packetCounts(ic)
			}
			return metrics.XDPSnapshot{
				PacketCounts: packetCounts(c),
				// The jail's count, not a walk of the map: a scrape must
				// stay cheap with a million bans.
				Bans: d.jail.Stats().CurrentlyBanned, MaxBans: int(d.dp.MaxBans()), Interfaces: d.o.Datapath.Interfaces,
				Attached: attached, PerInterface: per,
			}, nil
		}
	}
	jailReader := func() jail.Stats {
		if d.jail == nil {
			return jail.Stats{}
		}
		return d.jail.Stats()
	}
	m := metrics.NewVersioned(d.o.Version, xdpReader, jailReader)
	m.WatchFiles(func() []metrics.WatchSnapshot {
		out := make([]metrics.WatchSnapshot, 0, len(d.tails))
		for _, t := range d.tails {
			s := t.Stats()
			out = append(out, metrics.WatchSnapshot{File: s.Path, Read: s.Read, Matched: s.Matched, TooOld: s.TooOld,
				Unparsed: s.Unparsed, TooLong: s.TooLong, Rotations: s.Rotations})
		}
		return out
	})
	return m
}

// openMetrics binds the metrics address during start, so a taken or bad
// address stops the start instead of failing later in the background.
func (d *daemon) openMetrics() error {
	if d.o.Metrics == "" {
		return nil
	}
	ln, err := metrics.Listen(d.o.Metrics)
	if err != nil {
		return err
	}
	d.metricsLn = ln
	return nil
}

func (d *daemon) serveMetrics(ctx context.Context) {
	if err := metrics.ServeListener(ctx, d.metricsLn, d.metrics.Handler(), d.log); err != nil && !errors.Is(err, net.ErrClosed) {
		d.log.Error("metrics endpoint stopped", "err", err)
	}
}

// banLatency is the time from the failure that completed the count to the
// ban being in force (the hook runs after the enforcer wrote the map).
func banLatency(b jail.Ban, fs []event.Failure) time.Duration {
	if b.Origin != jail.OriginJail || len(fs) == 0 {
		return 0
	}
	last := fs[len(fs)-1].Time
	if last.IsZero() {
		return 0
	}
	return time.Since(last)
}

func (d *daemon) onSuccess(peer netip.Addr, name string) {
	d.metrics.Handshake(true, 0)
}

func (d *daemon) onRefused(peer netip.Addr, why listener.Refusal) {
	d.metrics.HandshakeRefused(string(why))
}

// packetCounts is the one conversion of the datapath's counters to the
// metrics' (which name them as their series do, and import no BPF code).
func packetCounts(c xdp.Counters) metrics.PacketCounts {
	return metrics.PacketCounts{Seen: c.Seen, Passed: c.Passed, Dropped: c.Dropped, ExpiredHits: c.Expired, ParseFailures: c.ParseFails}
}
