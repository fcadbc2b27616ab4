package jail

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// fail2ban's time units (MyTime.str2seconds) up to weeks; longer ones
// (months, years) are left out because their length is ambiguous.
var durationUnits = []struct {
	names []string
	d     time.Duration
}{
	{[]string{"weeks", "week", "wee", "we", "w"}, 7 * 24 * time.Hour},
	{[]string{"days", "day", "da", "d"}, 24 * time.Hour},
	{[]string{"hours", "hour", "hou", "ho", "h"}, time.Hour},
	{[]string{"minutes", "minute", "mins", "min", "mi", "m"}, time.Minute},
	{[]string{"seconds", "second", "secs", "sec", "se", "s"}, time.Second},
}

// ParseDuration reads a duration as fail2ban writes them: bare seconds
// ("600"), a number with a unit ("10m", "1h", "1d", "1w"), several of those
// ("1d 12h"), or Go's form ("1h30m"). "-1", and any negative value, means
// permanent and comes back negative.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("parse duration %q: empty", s)
	}
	if d, err := time.ParseDuration(in); err == nil {
		return d, nil
	}
	neg := false
	if in[0] == '-' || in[0] == '+' {
		neg = in[0] == '-'
		in = strings.TrimSpace(in[1:])
	}
	var total float64
	for in != "" {
		n := 0
		for n < len(in) && (in[n] >= '0' && in[n] <= '9' || in[n] == '.') {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("parse duration %q: expected a number at %q", s, in)
		}
		v, err := strconv.ParseFloat(in[:n], 64)
		if err != nil {
			return 0, fmt.Errorf("parse duration %q: %w", s, err)
		}
		in = strings.TrimLeft(in[n:], " ")
		unit, rest := time.Second, in
		for _, u := range durationUnits {
			if name := matchUnit(in, u.names); name != "" {
				unit, rest = u.d, in[len(name):]
				break
			}
		}
		if rest == in && in != "" && (in[0] < '0' || in[0] > '9') {
			return 0, fmt.Errorf("parse duration %q: unknown unit at %q (use s, m, h, d or w)", s, in)
		}
		total += v * float64(unit)
		in = strings.TrimLeft(rest, " ")
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("parse duration %q: too long", s)
	}
	if neg {
		total = -total
	}
	return time.Duration(total), nil
}

// matchUnit returns the unit name in names that in starts with, if it is
// not followed by more letters.
func matchUnit(in string, names []string) string {
	for _, n := range names {
		if strings.HasPrefix(in, n) {
			rest := in[len(n):]
			if rest == "" || rest[0] < 'a' || rest[0] > 'z' {
				return n
			}
		}
	}
	return ""
}
