package f2blog

import (
	"strings"
	"unicode/utf8"
)

// MaxNameLen caps the raw partner name (bytes) put into a line; longer names
// are cut and end in "...".
const MaxNameLen = 64

// maxMessageLen caps the message; the listener's messages are far shorter.
const maxMessageLen = 200

// nameSafe reports whether b may stand unescaped in a partner name.
//
// Why a whitelist without digits and colons: fail2ban reads a line with
// regexes that look for an address after "from " and for the earliest
// date-like text anywhere in the line (unless the filter pins datepattern,
// which the filter in the OS4X documentation does not). Every IPv4 address
// needs digit-dot-digit, every IPv6 address and every "from HOST: " a colon,
// and every date template fail2ban 1.0 ships needs either a run of four or
// more digits (a year, an epoch) or digit-separator-digit (01/02, 10:48).
// Escaping each digit and each colon as \xHH leaves at most two digits in a
// row ("\x32"), always between an "x" and a backslash, so none of those can
// form, whatever the name says. Parentheses are escaped so the name cannot
// close its own "(...)" early, brackets so it cannot imitate the trailing
// timestamp, "@" so it cannot start a TAI64N stamp, and every byte outside
// printable ASCII (control characters, CR/LF, invalid UTF-8, and Unicode
// digits, which Python's \d also matches) so a line stays one line.
// Dots are escaped so no host name (and no "a.b" a resolver might try)
// stands in a name. Names such as "ACME GmbH" stay readable; "Partner 2"
// becomes "Partner \x32", which is the price of a line nobody can frame.
func nameSafe(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z':
		return true
	}
	return strings.IndexByte(" ,_-'&+/", b) >= 0
}

// hostKeyword is the word after which both OS4X filters read <HOST>,
// which also takes host names and resolves them: the filter in the OS4X
// documentation reads "from <HOST> (.+): " with a greedy prefix, so a name
// holding "from localhost x" would be read as the failure's source. An
// escaped name never holds the word in any case: the byte that would
// complete it is escaped, also when an escape's last hex digit is its "f".
const hostKeyword = "from"

// completesKeyword reports whether writing c after what b holds would end
// b in hostKeyword, in any case.
func completesKeyword(b *strings.Builder, c byte) bool {
	n := len(hostKeyword) - 1
	s := b.String()
	return len(s) >= n && c|0x20 == hostKeyword[n] && strings.EqualFold(s[len(s)-n:], hostKeyword[:n])
}

const hexDigits = "0123456789abcdef"

// writeHex writes c as the escape \xHH that UnescapeName reads back.
func writeHex(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

// EscapeName makes a partner name from a verified certificate safe to put
// between the parentheses of a log line; UnescapeName reverses it.
func EscapeName(name string) string {
	var b strings.Builder
	b.Grow(min(len(name), MaxNameLen) + 8)
	writeName(&b, name)
	return b.String()
}

// writeName writes EscapeName(name) to b.
func writeName(b *strings.Builder, name string) {
	cut := false
	if len(name) > MaxNameLen {
		name, cut = name[:MaxNameLen], true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if nameSafe(c) && !completesKeyword(b, c) {
			b.WriteByte(c)
			continue
		}
		writeHex(b, c)
	}
	if cut {
		b.WriteString("...")
	}
}

// UnescapeName decodes the \xHH escapes of EscapeName. Text it did not
// write (another program's log) passes through unchanged.
func UnescapeName(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			hi, lo := unhex(s[i+2]), unhex(s[i+3])
			if hi >= 0 && lo >= 0 {
				b.WriteByte(byte(hi<<4 | lo))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// escapeMessage keeps a message on one line and valid UTF-8. Messages come
// from the listener's fixed table (event.Failure's contract), so this is a
// second line of defence, not a filter against hostile text: backslash,
// control characters (CR, LF, ...) and invalid UTF-8 become \xHH, brackets
// become parentheses so nothing can imitate the trailing timestamp, and the
// length is capped.
func escapeMessage(msg string) string {
	var b strings.Builder
	b.Grow(min(len(msg), maxMessageLen))
	writeMessage(&b, msg)
	return b.String()
}

// writeMessage writes escapeMessage(msg) to b.
func writeMessage(b *strings.Builder, msg string) {
	if len(msg) > maxMessageLen {
		msg = msg[:maxMessageLen]
	}
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && size <= 1, r == '\\', r < 0x20, r == 0x7f,
			0x80 <= r && r < 0xa0, r == 0x2028, r == 0x2029, r == 0x85:
			for j := 0; j < size; j++ {
				writeHex(b, msg[i+j])
			}
		case r == '[':
			b.WriteByte('(')
		case r == ']':
			b.WriteByte(')')
		default:
			b.WriteString(msg[i : i+size])
		}
		i += size
	}
}
