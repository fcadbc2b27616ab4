// Package f2blog writes, parses and follows the fail2ban log that OS4X and
// xdpban write: one line per failed TLS handshake, worded exactly as OS4X
// words it so existing fail2ban filters keep matching,
//
//	TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate. [2026-11-25T10:48:28.123+00:00]
//
// with an optional escaped partner name after the address and a timestamp at
// the end (default), at the start, or none (OS4X's own form).
package f2blog

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/xdpban/xdpban/internal/event"
)

// TimeMode says where a line carries its timestamp.
type TimeMode int

const (
	// TimeEnd puts " [<ISO 8601>]" last: the anchored OS4X filters keep
	// matching and fail2ban finds the date (the default).
	TimeEnd TimeMode = iota
	// TimeStart puts "[<ISO 8601>] " first; it breaks the anchored OS4X
	// filter, so it is only for sites with their own filter.
	TimeStart
	// TimeNone writes OS4X's undated form; fail2ban then cannot apply
	// findtime to lines it reads late.
	TimeNone
)

// ParseTimeMode reads the --fail2ban-log-time values end, start and none.
func ParseTimeMode(s string) (TimeMode, error) {
	switch s {
	case "end", "":
		return TimeEnd, nil
	case "start":
		return TimeStart, nil
	case "none":
		return TimeNone, nil
	}
	return 0, fmt.Errorf("parse time mode %q: want end, start or none", s)
}

// String returns the flag value for m.
func (m TimeMode) String() string {
	switch m {
	case TimeStart:
		return "start"
	case TimeNone:
		return "none"
	}
	return "end"
}

// timeLayout is ISO 8601 with milliseconds and a numeric offset ("+00:00",
// never "Z"), the form fail2ban 1.0 was measured to detect at the line end.
const timeLayout = "2006-01-02T15:04:05.000-07:00"

const (
	prefix = "TLS error "
	middle = " during connect try from "
)

// Format renders f as one log line without the trailing newline. The
// address is the numeric peer (IPv4-mapped printed as IPv4, zone dropped),
// the name is escaped by EscapeName and the message by escapeMessage, so the
// line holds no date but its own timestamp and no second address.
func Format(f event.Failure, mode TimeMode) string {
	var b strings.Builder
	b.Grow(160)
	// scratch holds the timestamp, code and address on their way into b,
	// so the line is the only allocation.
	var scratch [64]byte
	if mode == TimeStart {
		b.WriteByte('[')
		b.Write(f.Time.AppendFormat(scratch[:0], timeLayout))
		b.WriteString("] ")
	}
	b.WriteString(prefix)
	b.Write(strconv.AppendUint(scratch[:0], uint64(f.Code), 10))
	b.WriteString(middle)
	b.Write(appendAddr(scratch[:0], f.Addr))
	if f.Name != "" {
		b.WriteString(" (")
		writeName(&b, f.Name)
		b.WriteByte(')')
	}
	b.WriteString(": ")
	writeMessage(&b, f.Message)
	// OS4X ends the reason with a full stop ("... a certificate."), and
	// people grep for that exact text.
	if !strings.HasSuffix(f.Message, ".") {
		b.WriteByte('.')
	}
	if mode == TimeEnd {
		b.WriteString(" [")
		b.Write(f.Time.AppendFormat(scratch[:0], timeLayout))
		b.WriteByte(']')
	}
	return b.String()
}

func appendAddr(buf []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		// Never happens for a TCP peer; keep the line parseable anyway.
		return append(buf, "0.0.0.0"...)
	}
	return a.Unmap().WithZone("").AppendTo(buf)
}
