package f2blog

import (
	"strings"
	"time"
)

// messageStart tells whether head, the text in front of OS4X's wording,
// is a line header and nothing more: empty, or a leading date, then at
// most a syslog "HOST TAG[PID]:" (or "TAG:") and a level word. So the
// wording counts only where it starts the message, as the shipped
// filter's "^TLS error" has it. A copy later in a line (a client's text
// quoted in some other message) is no failure: taking it would let
// whoever controls that text name the address to ban.
func messageStart(head string) bool {
	rest := afterLeadingDate(strings.TrimLeft(head, " "))
	fields := strings.Fields(rest)
	if n := len(fields); n > 0 && isLevelWord(fields[n-1]) {
		fields = fields[:n-1]
	}
	switch len(fields) {
	case 0:
		return true
	case 1:
		return isSyslogTag(fields[0])
	case 2:
		return isHostName(fields[0]) && isSyslogTag(fields[1])
	}
	return false
}

// afterLeadingDate returns s without the date it starts with, in the
// forms leadingTime reads; s itself when it starts with none.
func afterLeadingDate(s string) string {
	switch {
	case strings.HasPrefix(s, "["):
		if i := strings.IndexByte(s, ']'); i > 0 && !isoTime(s[1:i]).IsZero() {
			return s[i+1:]
		}
	case len(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' '):
		end := strings.IndexByte(s[11:], ' ')
		if end < 0 {
			end = len(s)
		} else {
			end += 11
		}
		if !isoTime(s[:end]).IsZero() {
			return s[end:]
		}
	case len(s) >= 15:
		if _, err := time.Parse("Jan _2 15:04:05", s[:15]); err == nil {
			return s[15:]
		}
	}
	return s
}

// isSyslogTag: "os4x:", "os4x[812]:", "java/os4x:"; a program name (with
// a letter in it: "7:" ends a message's own words, not a header), an
// optional bracketed pid, and the colon that ends the header.
func isSyslogTag(f string) bool {
	f, ok := strings.CutSuffix(f, ":")
	if !ok {
		return false
	}
	if i := strings.IndexByte(f, '['); i >= 0 {
		pid, ok := strings.CutSuffix(f[i+1:], "]")
		if !ok || pid == "" || strings.Trim(pid, "0123456789") != "" {
			return false
		}
		f = f[:i]
	}
	return strings.Trim(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == "" &&
		strings.ContainsAny(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// isHostName: the host field of a syslog header.
func isHostName(f string) bool {
	return strings.Trim(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:") == ""
}

// isLevelWord: "INFO", "WARN", "ERROR", "[SEVERE]" and the like, as an
// application's own log puts them after the date.
func isLevelWord(f string) bool {
	f = strings.TrimSuffix(strings.TrimPrefix(f, "["), "]")
	f = strings.TrimSuffix(f, ":")
	return len(f) >= 3 && len(f) <= 8 && strings.Trim(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}
