package metrics

import "github.com/prometheus/client_golang/prometheus"

// WatchReader returns the counters of every --watch-log file at scrape
// time.
type WatchReader func() []WatchSnapshot

// WatchSnapshot is what the tailer of one watched file counted.
type WatchSnapshot struct {
	File                                     string
	Read, Matched, TooOld, Unparsed, TooLong uint64
	Rotations                                uint64
}

// WatchFiles adds the per-file families of --watch-log, read through r at
// each scrape.
func (m *Metrics) WatchFiles(r WatchReader) {
	m.reg.MustRegister(&watchCollector{
		read: r,
		lines: desc("watch_lines_total", "Lines read from a watched log (--watch-log) by what became of them, which add up to every line read: matched "+
			"(failures handed to the jail), too_old (dated before findtime, or undated and in the file before xdpban first saw it), "+
			"unparsed (not a failure in OS4X's wording), too_long (over the line limit, skipped whole).", "file", "result"),
		rotations: desc("watch_rotations_total", "Rotations of a watched log seen: renames and truncations.", "file"),
	})
}

type watchCollector struct {
	read             WatchReader
	lines, rotations *prometheus.Desc
}

func (c *watchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lines
	ch <- c.rotations
}

func (c *watchCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, s := range c.read() {
		if seen[s.File] { // a duplicate label set would fail the whole scrape
			continue
		}
		seen[s.File] = true
		for _, r := range []struct {
			result string
			v      uint64
		}{{"matched", s.Matched}, {"too_old", s.TooOld}, {"unparsed", s.Unparsed}, {"too_long", s.TooLong}} {
			ch <- prometheus.MustNewConstMetric(c.lines, prometheus.CounterValue, float64(r.v), s.File, r.result)
		}
		ch <- prometheus.MustNewConstMetric(c.rotations, prometheus.CounterValue, float64(s.Rotations), s.File)
	}
}
