package jail

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Permanent is what "-1" parses to: a ban without end.
const Permanent = -time.Second

// fail2ban's month and year (MyTime.str2seconds): a year of 365.25 days,
// a month a twelfth of it, so leap years even out.
const (
	durationYear  = time.Duration(365.25 * 24 * float64(time.Hour))
	durationMonth = durationYear / 12
)

// MaxDuration is the longest duration xdpban takes. Ban ends are kept in
// nanoseconds (the map's clock, the store, time.Duration); a hundred years
// stays far from where they overflow and wrap a ban into the past, and is
// longer than anyone means short of -1.
const MaxDuration = 100 * durationYear

// durationUnits are fail2ban's unit words, matched whole and without
// case as its str2seconds does; "m" is a minute, "mo" a month.
var durationUnits = []struct {
	names []string
	d     time.Duration
}{
	{[]string{"seconds", "second", "sec", "se", "ss", "s"}, time.Second},
	{[]string{"minutes", "minute", "min", "mi", "mm", "m"}, time.Minute},
	{[]string{"hours", "hour", "hou", "ho", "hh", "h"}, time.Hour},
	{[]string{"days", "day", "da", "dd", "d"}, 24 * time.Hour},
	{[]string{"weeks", "week", "wee", "we", "ww", "w"}, 7 * 24 * time.Hour},
	{[]string{"months", "month", "mon", "mo"}, durationMonth},
	{[]string{"years", "year", "yea", "ye", "yy", "y"}, durationYear},
}

// ParseDuration reads a duration as fail2ban's str2seconds does: bare
// seconds ("600"), a number with a unit ("10m", "1h", "1d", "1w", "1mo",
// "1y", "3 hours"), and sums of those, written together ("1h30m",
// "1d12h"), apart ("1d 12h") or with + and - ("1y-6mo"). The result is
// then checked by CheckDuration: "-1" is Permanent, and every setting,
// flag, config key and control request goes through these two. fail2ban
// hands the string to Python's eval, so it also multiplies; xdpban takes
// the sums only, and no "ms": ban lengths are counted in seconds.
func ParseDuration(s string) (time.Duration, error) {
	secs, err := sumTerms(strings.ToLower(strings.TrimSpace(s)))
	if err == nil {
		err = checkSeconds(secs)
	}
	if err != nil {
		return 0, fmt.Errorf("parse duration %q: %w", s, err)
	}
	if secs == -1 {
		return Permanent, nil
	}
	d := time.Duration(math.Round(secs * float64(time.Second)))
	if err := CheckDuration(d); err != nil {
		return 0, fmt.Errorf("parse duration %q: %w", s, err)
	}
	return d, nil
}

// checkSeconds refuses what would not fit a time.Duration before it is
// converted; CheckDuration has the last word.
func checkSeconds(secs float64) error {
	switch {
	case secs > MaxDuration.Seconds():
		return errTooLong
	case secs < 0 && secs != -1:
		return errNegative
	}
	return nil
}

var (
	errNegative = errors.New("negative; only -1 (permanent) may be")
	errTooLong  = errors.New("longer than 100y, the longest xdpban takes; use -1 for permanent")
)

// CheckDuration says whether d is a duration xdpban takes: 0 (the
// caller's default, where it has one), Permanent, or from one second to
// MaxDuration.
func CheckDuration(d time.Duration) error {
	switch {
	case d == 0 || d == Permanent:
		return nil
	case d < 0:
		return errNegative
	case d < time.Second:
		return errors.New("under one second; the shortest is 1s")
	case d > MaxDuration:
		return errTooLong
	}
	return nil
}

// sumTerms adds up "number [unit]" terms in seconds.
func sumTerms(in string) (float64, error) {
	if in == "" {
		return 0, errors.New("empty")
	}
	var total float64
	sign := 1.0
	if in[0] == '-' || in[0] == '+' {
		sign = signOf(in[0])
		in = strings.TrimLeft(in[1:], " ")
	}
	for {
		v, rest, err := term(in)
		if err != nil {
			return 0, err
		}
		total += sign * v
		if math.IsInf(total, 0) {
			return 0, errTooLong
		}
		in = strings.TrimLeft(rest, " ")
		switch {
		case in == "":
			return total, nil
		case in[0] == '+' || in[0] == '-':
			sign = signOf(in[0])
			in = strings.TrimLeft(in[1:], " ")
		default:
			sign = 1 // fail2ban reads juxtaposed terms as a sum
		}
	}
}

// term reads one number and its unit (seconds without one) off in.
func term(in string) (secs float64, rest string, err error) {
	n := 0
	for n < len(in) && (in[n] >= '0' && in[n] <= '9' || in[n] == '.') {
		n++
	}
	if n == 0 {
		return 0, "", fmt.Errorf("expected a number at %q", in)
	}
	v, err := strconv.ParseFloat(in[:n], 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, "", errTooLong
		}
		return 0, "", fmt.Errorf("%q is not a number", in[:n])
	}
	rest = strings.TrimLeft(in[n:], " ")
	if rest == "" || !isLetter(rest[0]) {
		return v, rest, nil
	}
	for _, u := range durationUnits {
		for _, name := range u.names {
			if after, ok := strings.CutPrefix(rest, name); ok && (after == "" || !isLetter(after[0])) {
				return v * u.d.Seconds(), after, nil
			}
		}
	}
	word := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !isLetter(byte(r)) }); i > 0 {
		word = rest[:i]
	}
	return 0, "", fmt.Errorf("unknown unit %q (use s, m, h, d, w, mo or y, as fail2ban does)", word)
}

func signOf(op byte) float64 {
	if op == '-' {
		return -1
	}
	return 1
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b == '_' }

// FormatDuration writes d, rounded to the second, in the units
// ParseDuration reads: "100y", "1d2h", "59m59s"; Permanent is "-1". A year
// is fail2ban's 365.25 days. Go's own form ("876600h0m0s" for 100y)
// hides the days an operator looks for.
func FormatDuration(d time.Duration) string {
	if d == Permanent {
		return "-1"
	}
	d = d.Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"y", durationYear}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			d -= n * u.d
		}
	}
	return b.String()
}
