package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// scrapeCollector reads the datapath and the jail once per scrape.
type scrapeCollector struct {
	xdp  XDPReader
	jail JailReader

	xdpUp, packets, ifPackets, expired, parseFails, bansActive, capacity, fill, iface *prometheus.Desc

	failedCur, failedTotal, bannedTotal, bannedCur, droppedTracked, ignored, refused, enforcerErrors *prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

func newScrapeCollector(xdp XDPReader, jail JailReader) *scrapeCollector {
	return &scrapeCollector{
		xdp:  xdp,
		jail: jail,

		xdpUp:      desc("xdp_up", "1 when the XDP counters and ban map could be read at this scrape, 0 when reading failed (the other xdpban_xdp_* and ban map series are then absent)."),
		packets:    desc("xdp_packets_total", "Packets the XDP program saw on all interfaces, summed over CPUs, by result: passed or dropped (from a banned source); the two add up to every packet seen.", "result"),
		ifPackets:  desc("xdp_interface_packets_total", "Packets the XDP program saw per receiving interface, summed over CPUs, by result: passed or dropped.", "iface", "result"),
		expired:    desc("xdp_expired_hits_total", "Packets from a source whose ban had ended but was still in the map: passed, and counted in xdpban_xdp_packets_total{result=\"passed\"}."),
		parseFails: desc("xdp_parse_failures_total", "Malformed or truncated packets: passed, and counted in xdpban_xdp_packets_total{result=\"passed\"}."),
		bansActive: desc("bans_active", "Bans in force (a ban that ended and waits for the sweep is not counted)."),
		capacity:   desc("ban_map_capacity", "Maximum number of entries of the XDP ban map (--max-bans)."),
		fill:       desc("ban_map_fill_ratio", "Entries in the XDP ban map divided by its capacity, from 0 to 1."),
		iface:      desc("xdp_attached", "Per --iface: 1 while the XDP program is in force on it (also under a new name after a rename), 0 while it is not: the interface is gone, or attaching again after it came back failed (see the daemon's log).", "iface"),

		failedCur:      desc("jail_failed_current", "Addresses (or IPv6 prefixes) with failures being tracked within findtime."),
		failedTotal:    desc("jail_failed_total", "Failures counted by the jail since start."),
		bannedTotal:    desc("jail_banned_total", "Bans made by the jail since start."),
		bannedCur:      desc("jail_banned_current", "Bans currently in force according to the jail."),
		droppedTracked: desc("jail_tracked_dropped_total", "Failure records dropped because the jail's tracking table was full."),
		ignored:        desc("jail_ignored_total", "Failures from ignoreip addresses, not counted towards a ban."),
		refused:        desc("jail_bans_refused_total", "Bans not made because their prefix (as enforced: an IPv6 ban covers --ipv6-prefix) covers an ignoreip or ignoreself address: decided on failures, asked for with xdpban ban, or found at restore."),
		enforcerErrors: desc("jail_enforcer_errors_total", "Map writes that failed, by operation: ban (a ban decided on failures that could not be put in force; the next failure retries) and unban (an expired ban left in the map; the kernel no longer enforces it).", "op"),
	}
}

// Describe sends every descriptor, also those a nil reader never fills, so
// the registry checks names and labels at registration.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.xdpUp, c.packets, c.ifPackets, c.expired, c.parseFails, c.bansActive, c.capacity, c.fill, c.iface,
		c.failedCur, c.failedTotal, c.bannedTotal, c.bannedCur, c.droppedTracked, c.ignored, c.refused, c.enforcerErrors,
	} {
		ch <- d
	}
}

// Collect reads each reader once.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.xdp != nil {
		c.collectXDP(ch)
	}
	if c.jail != nil {
		c.collectJail(ch)
	}
}

func (c *scrapeCollector) collectXDP(ch chan<- prometheus.Metric) {
	s, err := c.xdp()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.xdpUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.xdpUp, prometheus.GaugeValue, 1)
	for _, r := range results(s.PacketCounts) {
		ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(r.v), r.result)
	}
	ch <- prometheus.MustNewConstMetric(c.expired, prometheus.CounterValue, float64(s.ExpiredHits))
	ch <- prometheus.MustNewConstMetric(c.parseFails, prometheus.CounterValue, float64(s.ParseFailures))
	for name, p := range s.PerInterface {
		for _, r := range results(p) {
			ch <- prometheus.MustNewConstMetric(c.ifPackets, prometheus.CounterValue, float64(r.v), name, r.result)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.bansActive, prometheus.GaugeValue, float64(s.Bans))
	ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, float64(s.MaxBans))
	ratio := 0.0
	if s.MaxBans > 0 {
		ratio = float64(s.Bans) / float64(s.MaxBans)
	}
	ch <- prometheus.MustNewConstMetric(c.fill, prometheus.GaugeValue, ratio)
	seen := make(map[string]bool, len(s.Interfaces))
	for _, name := range s.Interfaces {
		if seen[name] { // a duplicate label set would fail the whole scrape
			continue
		}
		seen[name] = true
		v := 0.0
		if s.Attached[name] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.iface, prometheus.GaugeValue, v, name)
	}
}

func (c *scrapeCollector) collectJail(ch chan<- prometheus.Metric) {
	s := c.jail()
	ch <- prometheus.MustNewConstMetric(c.failedCur, prometheus.GaugeValue, float64(s.CurrentlyFailed))
	ch <- prometheus.MustNewConstMetric(c.failedTotal, prometheus.CounterValue, float64(s.TotalFailed))
	ch <- prometheus.MustNewConstMetric(c.bannedTotal, prometheus.CounterValue, float64(s.TotalBanned))
	ch <- prometheus.MustNewConstMetric(c.bannedCur, prometheus.GaugeValue, float64(s.CurrentlyBanned))
	ch <- prometheus.MustNewConstMetric(c.droppedTracked, prometheus.CounterValue, float64(s.DroppedTracked))
	ch <- prometheus.MustNewConstMetric(c.ignored, prometheus.CounterValue, float64(s.Ignored))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
	ch <- prometheus.MustNewConstMetric(c.enforcerErrors, prometheus.CounterValue, float64(s.BanErrors), "ban")
	ch <- prometheus.MustNewConstMetric(c.enforcerErrors, prometheus.CounterValue, float64(s.UnbanErrors), "unban")
}

type resultCount struct {
	result string
	v      uint64
}

// results are the values of the result label: a partition of the
// packets seen, so that sum() over the label is the total.
func results(p PacketCounts) []resultCount {
	return []resultCount{{"passed", p.Passed}, {"dropped", p.Dropped}}
}
