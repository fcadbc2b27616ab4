package f2blog

import (
	"strings"
	"time"
)

// isoLayouts are the ISO 8601 forms a leading date may take (after a space
// between date and time became "T" and a decimal comma a point): with an
// offset as "+01:00", "Z" or "+0100", or none (local time).
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
}

// leadingTime reads the date a line starts with, in front of the OS4X
// wording: "[ISO]" as Format writes it, a bare ISO 8601 date and time
// (rsyslog, journald's short-iso) or a classic syslog "Nov 28 12:00:01",
// whose year is taken as fail2ban takes it (this year, or last year if
// that would be more than a day ahead of now). It returns zero when the
// line has no date there.
func leadingTime(head string, now time.Time) time.Time {
	s := strings.TrimLeft(head, " ")
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			return isoTime(s[1:i])
		}
		return time.Time{}
	}
	if len(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') {
		end := strings.IndexByte(s[11:], ' ')
		if end < 0 {
			end = len(s)
		} else {
			end += 11
		}
		return isoTime(s[:end])
	}
	if len(s) >= 15 {
		t, err := time.ParseInLocation("Jan _2 15:04:05", s[:15], now.Location())
		if err != nil {
			return time.Time{}
		}
		t = t.AddDate(now.Year(), 0, 0)
		if t.After(now.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		return t
	}
	return time.Time{}
}

// isoTime parses one ISO 8601 date and time; zero if it is none.
func isoTime(s string) time.Time {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' {
		return time.Time{}
	}
	b := []byte(s)
	b[10] = 'T'
	if len(b) > 19 && b[19] == ',' {
		b[19] = '.'
	}
	s = string(b)
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.Local); err == nil {
		return t
	}
	return time.Time{}
}
