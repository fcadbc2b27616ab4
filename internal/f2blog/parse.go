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

// Parse reads one line in any of the forms Format writes (timestamp at the
// end, at the start or none; with or without a partner name; IPv4 or IPv6)
// and OS4X's own undated form. A trailing CR/LF is ignored. The returned
// Failure has Time zero when the line carries no timestamp, the name
// unescaped, and Line set to the line; Source is left to the caller.
func Parse(line string) (event.Failure, error) {
	line = strings.TrimRight(line, "\r\n")
	f := event.Failure{Line: line}
	rest := line

	if strings.HasSuffix(rest, "]") {
		if i := strings.LastIndex(rest, " ["); i >= 0 {
			if t, err := parseTime(rest[i+2 : len(rest)-1]); err == nil {
				f.Time, rest = t, rest[:i]
			}
		}
	}
	if f.Time.IsZero() && strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "] "); i > 0 {
			if t, err := parseTime(rest[1:i]); err == nil {
				f.Time, rest = t, rest[i+2:]
			}
		}
	}

	rest, ok := strings.CutPrefix(rest, prefix)
	if !ok {
		return event.Failure{}, errNotFailureLine
	}
	codeText, rest, ok := strings.Cut(rest, middle)
	if !ok {
		return event.Failure{}, errNotFailureLine
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
