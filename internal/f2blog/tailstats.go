package f2blog

import "sync/atomic"

// TailStats counts what a Tailer did with the lines of one watched file.
type TailStats struct {
	Path string
	// Read is every line read, those too long included.
	Read uint64
	// Matched lines were failures handed on.
	Matched uint64
	// TooOld lines were failures dated before findtime, or undated and in
	// the file before xdpban first saw it.
	TooOld uint64
	// Unparsed lines were not failures in OS4X's wording.
	Unparsed uint64
	// TooLong lines exceeded the line limit and were skipped whole.
	TooLong uint64
	// Rotations counts renames and truncations seen.
	Rotations uint64
}

// tailCounters are read by metrics scrapes while the Tailer runs.
type tailCounters struct {
	read, matched, tooOld, unparsed, tooLong, rotations atomic.Uint64
}

func (c *tailCounters) snapshot() TailStats {
	return TailStats{
		Read: c.read.Load(), Matched: c.matched.Load(), TooOld: c.tooOld.Load(),
		Unparsed: c.unparsed.Load(), TooLong: c.tooLong.Load(), Rotations: c.rotations.Load(),
	}
}
