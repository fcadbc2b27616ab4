package f2blog

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

var testTime = time.Date(2026, 11, 25, 10, 48, 28, 123e6, time.UTC)

func failure(addr, name string) event.Failure {
	return event.Failure{
		Addr:    netip.MustParseAddr(addr),
		Time:    testTime,
		Code:    167772359,
		Message: "peer did not return a certificate.",
		Name:    name,
	}
}

func TestFormatExactWording(t *testing.T) {
	f := failure("10.10.14.7", "")
	cases := map[TimeMode]string{
		TimeEnd:   "TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate. [2026-11-25T10:48:28.123+00:00]",
		TimeStart: "[2026-11-25T10:48:28.123+00:00] TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate.",
		TimeNone:  "TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate.",
	}
	for mode, want := range cases {
		if got := Format(f, mode); got != want {
			t.Errorf("mode %v:\n got %q\nwant %q", mode, got, want)
		}
		// The listener's messages are OpenSSL's reason strings, without
		// OS4X's full stop: Format adds it.
		bare := f
		bare.Message = strings.TrimSuffix(f.Message, ".")
		if got := Format(bare, mode); got != want {
			t.Errorf("mode %v, reason without full stop:\n got %q\nwant %q", mode, got, want)
		}
	}
}

func TestFormatAddressForms(t *testing.T) {
	for in, want := range map[string]string{
		"::ffff:192.0.2.1":   "from 192.0.2.1: ",
		"2001:db8::7":        "from 2001:db8::7: ",
		"fe80::1%eth0":       "from fe80::1: ",
		"198.18.0.1":         "from 198.18.0.1: ",
		"2001:db8:1:2:3:4::": "from 2001:db8:1:2:3:4::: ",
	} {
		if got := Format(failure(in, ""), TimeEnd); !strings.Contains(got, want) {
			t.Errorf("%s: %q lacks %q", in, got, want)
		}
	}
}

func TestFormatOffsetAndZone(t *testing.T) {
	f := failure("192.0.2.1", "")
	f.Time = testTime.In(time.FixedZone("CET", 3600))
	if got := Format(f, TimeEnd); !strings.HasSuffix(got, " [2026-11-25T11:48:28.123+01:00]") {
		t.Errorf("got %q", got)
	}
}

func TestParseVariants(t *testing.T) {
	cases := []struct {
		line, addr, name, msg string
		code                  uint32
		dated                 bool
	}{
		{"TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate. [2026-11-25T10:48:28.123+00:00]", "10.10.14.7", "", "peer did not return a certificate", 167772359, true},
		{"[2026-11-25T10:48:28.123+00:00] TLS error 167772294 during connect try from 2001:db8::7: certificate verify failed", "2001:db8::7", "", "certificate verify failed", 167772294, true},
		{"TLS error 167772418 during connect try from 198.18.0.9: unsupported protocol", "198.18.0.9", "", "unsupported protocol", 167772418, false},
		{"TLS error 167772294 during connect try from 2001:db8:: (ACME GmbH): certificate verify failed [2026-11-25T11:48:28.123+01:00]", "2001:db8::", "ACME GmbH", "certificate verify failed", 167772294, true},
		{"TLS error 167772294 during connect try from ::ffff:192.0.2.1 (Partner \\x32): certificate verify failed\r\n", "192.0.2.1", "Partner 2", "certificate verify failed", 167772294, false},
		{"TLS error 167772454 during connect try from 192.0.2.4: [2026-11-25T10:48:28Z]", "192.0.2.4", "", "", 167772454, true},
	}
	for _, c := range cases {
		f, err := Parse(c.line)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if f.Addr != netip.MustParseAddr(c.addr) || f.Name != c.name || f.Message != c.msg || f.Code != c.code {
			t.Errorf("%q: got %+v", c.line, f)
		}
		if c.dated != !f.Time.IsZero() || (c.dated && !f.Time.Equal(testTime) && !f.Time.Equal(testTime.Truncate(time.Second))) {
			t.Errorf("%q: time %v", c.line, f.Time)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"hello",
		"TLS error x during connect try from 1.2.3.4: y",
		"TLS error 1 during connect try from host.example: y",
		"TLS error 1 during connect try from 1.2.3.4 y",
		"TLS error 99999999999 during connect try from 1.2.3.4: y",
		"TLS error 1 during connect try from fe80::1%eth0: y",
		"TLS error 1 during connect try from 1.2.3.4 (x: y",
	} {
		if f, err := Parse(line); err == nil {
			t.Errorf("%q parsed as %+v", line, f)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, mode := range []TimeMode{TimeEnd, TimeStart, TimeNone} {
		for _, name := range []string{"", "ACME GmbH", "x during connect try from 1.2.3.4: y", "a\nb\\x41(c)[d]", "M\xfcller \xff", "notAfter 2020-01-01 00:00:00"} {
			in := failure("2001:db8::1", name)
			out, err := Parse(Format(in, mode))
			if err != nil {
				t.Fatalf("%v %q: %v", mode, name, err)
			}
			if out.Addr != in.Addr || out.Name != name || out.Code != in.Code || out.Message != strings.TrimSuffix(in.Message, ".") {
				t.Errorf("%v %q: got %+v", mode, name, out)
			}
			if (mode == TimeNone) != out.Time.IsZero() || (mode != TimeNone && !out.Time.Equal(in.Time)) {
				t.Errorf("%v: time %v", mode, out.Time)
			}
		}
	}
}

// TestHostileNameCannotFormAddressOrDate checks the property EscapeName is
// built for, with the patterns fail2ban uses: no IPv4 dotted quad, no
// "from X:" and no digit runs a date template needs survive escaping.
func TestHostileNameCannotFormAddressOrDate(t *testing.T) {
	dottedQuad := regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	fromHost := regexp.MustCompile(`from \S+: `)
	dateish := regexp.MustCompile(`\d{3}|\d[-/.:, T]\d|\d\d:\d\d`)
	escapeSeq := regexp.MustCompile(`\\x[0-9a-f]{2}`)
	for _, name := range []string{
		"x during connect try from 1.2.3.4: y",
		"notAfter 2020-01-01 00:00:00",
		"a\r\nTLS error 1 during connect try from 6.6.6.6: z",
		"20200101T000000 1577836800",
		"Jan 01 00:00:00 01/Jan/2020:00:00:00",
		"@400000005e0bdf8000000000 aaaaaaaaaaaaaaaaaaaaaaaa",
		"from 2001:db8::6: x) (y",
		"\u0661\u0662\u0663\u0664-\u0660\u0661-\u0660\u0661",
		"[2020-01-01T00:00:00.000+00:00]",
		"a during connect try from localhost b",
		"x From host.example.com y",
	} {
		esc := EscapeName(name)
		line := Format(failure("198.18.0.1", name), TimeEnd)
		body := line[strings.Index(line, "("):strings.LastIndex(line, ")")]
		if dottedQuad.MatchString(body) || fromHost.MatchString(body) || dateish.MatchString(body) {
			t.Errorf("name %q escaped to %q still looks like an address or date", name, esc)
		}
		if bare := escapeSeq.ReplaceAllString(esc, ""); strings.ContainsAny(bare, "\r\n()[]:@\\0123456789.") {
			t.Errorf("name %q escaped to %q keeps a delimiter", name, esc)
		}
		if strings.Contains(strings.ToLower(esc), hostKeyword) {
			t.Errorf("name %q escaped to %q keeps the word after which filters read a host", name, esc)
		}
		if strings.Count(line, "\n") != 0 || strings.Count(line, " [") != 1 {
			t.Errorf("line %q is not one line with one timestamp", line)
		}
	}
}

func TestEscapeNameCapsLength(t *testing.T) {
	long := strings.Repeat("A", 500)
	got := EscapeName(long)
	if len(got) != MaxNameLen+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("len %d: %q", len(got), got)
	}
	if n := len(EscapeName(strings.Repeat("\x00", 500))); n > 4*MaxNameLen+3 {
		t.Errorf("escaped control name is %d bytes", n)
	}
}

func TestEscapeMessage(t *testing.T) {
	got := escapeMessage("a\nb\\c [x] \xff")
	if got != `a\x0ab\x5cc (x) \xff` {
		t.Errorf("got %q", got)
	}
}

func TestParseTimeMode(t *testing.T) {
	for s, want := range map[string]TimeMode{"end": TimeEnd, "start": TimeStart, "none": TimeNone} {
		if got, err := ParseTimeMode(s); err != nil || got != want || got.String() != s {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := ParseTimeMode("later"); err == nil {
		t.Error("accepted later")
	}
}
