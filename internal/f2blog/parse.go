package f2blog

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// ErrNotFailure says a line is not a "TLS error ... during connect try from"
// line; a watched log may hold other lines, which are skipped.
var ErrNotFailure = errors.New("not a tls failure line")

// errNotFailureLine is what Parse returns for such a line, made once: a
// watched log's other lines are parsed and skipped one by one.
var errNotFailureLine = fmt.Errorf("parse line: %w", ErrNotFailure)

// Parse reads one line holding OS4X's wording, "TLS error N during
// connect try from ADDR...", at the start of the line's message: as Format
// writes it, undated as OS4X writes it, or behind a date, a syslog or
// journal header and a level word (messageStart). The wording is the first
// complete one in the line; the address is the first token after it,
// numeric only, as in the shipped filter.
// The time is the line's leading date (syslog "Nov 28 12:00:01", ISO 8601
// with or without brackets), else the bracketed ISO date at its very end;
// never a date from the middle of the line. A trailing CR/LF is ignored.
// The returned Failure has Time zero when the line carries no date, the
// name unescaped, and Line set to the line; Source is left to the caller.
func Parse(line string) (event.Failure, error) {
	return parseAt(line, time.Now())
}

func parseAt(line string, now time.Time) (event.Failure, error) {
	line = strings.TrimRight(line, "\r\n")
	at, codeText, rest := findWording(line)
	if at < 0 || !messageStart(line[:at]) {
		return event.Failure{}, errNotFailureLine
	}
	f := event.Failure{Line: line}
	f.Time = leadingTime(line[:at], now)
	if strings.HasSuffix(rest, "]") {
		if i := strings.LastIndex(rest, " ["); i >= 0 {
			if t, err := parseTime(rest[i+2 : len(rest)-1]); err == nil {
				rest = rest[:i]
				if f.Time.IsZero() {
					f.Time = t
				}
			}
		}
	}
	code, err := strconv.ParseUint(codeText, 10, 32)
	if err != nil {
		return event.Failure{}, fmt.Errorf("parse code %q: %w", codeText, err)
	}
	f.Code = uint32(code)

	addrText, name, msg, err := splitPeer(rest)
	if err != nil {
		return event.Failure{}, err
	}
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		return event.Failure{}, fmt.Errorf("parse address %q: invalid", addrText)
	}
	f.Addr = addr.Unmap()
	f.Name = UnescapeName(name)
	// The full stop OS4X (and Format) ends the reason with is not part of it.
	f.Message = strings.TrimSuffix(msg, ".")
	return f, nil
}

// findWording returns where the first complete "TLS error DIGITS during
// connect try from " starts, its code, and the text after it; at is -1
// when the line has none.
func findWording(line string) (at int, code, rest string) {
	for off := 0; ; {
		i := strings.Index(line[off:], prefix)
		if i < 0 {
			return -1, "", ""
		}
		i += off
		after := line[i+len(prefix):]
		n := 0
		for n < len(after) && after[n] >= '0' && after[n] <= '9' {
			n++
		}
		if r, ok := strings.CutPrefix(after[n:], middle); ok && n > 0 {
			return i, after[:n], r
		}
		off = i + len(prefix)
	}
}

// splitPeer splits "ADDR: MSG" or "ADDR (NAME): MSG". The address is the
// first space-free token, so an IPv6 address's own colons are no problem:
// only the colon that ends the token separates ("2001:db8::: x" is
// 2001:db8:: without a name; "2001:db8:: (n): x" has one, and no token is a
// valid address both with and without its last colon). The name ends at
// the first ")" (an escaped name holds none), as in the shipped filter.
func splitPeer(s string) (addr, name, msg string, err error) {
	tok, after, spaced := strings.Cut(s, " ")
	if a, ok := strings.CutSuffix(tok, ":"); ok {
		if _, err := netip.ParseAddr(a); err == nil || !strings.HasPrefix(after, "(") {
			return a, "", after, nil
		}
	}
	if !spaced || !strings.HasPrefix(after, "(") {
		return "", "", "", fmt.Errorf("parse peer %q: no colon after address", s)
	}
	name, after, ok := strings.Cut(after[1:], ")")
	if !ok {
		return "", "", "", fmt.Errorf("parse peer %q: unterminated name", s)
	}
	if after == ":" {
		return tok, name, "", nil
	}
	msg, ok = strings.CutPrefix(after, ": ")
	if !ok {
		return "", "", "", fmt.Errorf("parse peer %q: no colon after name", s)
	}
	return tok, name, msg, nil
}

// parseTime accepts ISO 8601 with optional fraction and a numeric or Z
// offset, which covers every timestamp Format writes.
func parseTime(s string) (time.Time, error) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, fmt.Errorf("parse time %q: not iso 8601", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}
