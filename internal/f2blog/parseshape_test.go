package f2blog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestParseEveryShapeOS4XWrites: OS4X's wording is found behind every
// header a logger puts in front of it, the date wherever a logger puts it,
// and the address is always the first numeric one after the wording; the
// wording anywhere else in a line is no failure.
func TestParseEveryShapeOS4XWrites(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	local := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	const w = "TLS error 167772359 during connect try from "
	for _, c := range []struct {
		line, addr string
		at         time.Time
	}{
		{w + "10.10.14.7: peer did not return a certificate.", "10.10.14.7", time.Time{}},
		{"Nov 28 12:00:01 gw1 os4x[812]: " + w + "10.10.14.7: peer did not return a certificate.", "10.10.14.7", local(2026, 11, 28, 12, 0, 1)},
		// A syslog date that would lie in the future is last year's.
		{"Dec 31 23:59:59 gw1 os4x: " + w + "2001:db8::7: x", "2001:db8::7", local(2025, 12, 31, 23, 59, 59)},
		{"2026-11-28T12:00:01.250+01:00 gw1 os4x[812]: " + w + "198.18.0.9: x", "198.18.0.9", time.Date(2026, 11, 28, 11, 0, 1, 250e6, time.UTC)},
		// Without an offset the date is local time.
		{"2026-11-28 12:00:01,250 INFO " + w + "198.18.0.9: x", "198.18.0.9", time.Date(2026, 11, 28, 12, 0, 1, 250e6, time.Local)},
		{"[2026-11-28T12:00:01+00:00] " + w + "198.18.0.9: x", "198.18.0.9", local(2026, 11, 28, 12, 0, 1)},
		{w + "198.18.0.9: x [2026-11-28T12:00:01.000+00:00]", "198.18.0.9", local(2026, 11, 28, 12, 0, 1)},
		// The logger's leading date wins over a trailing one.
		{"Nov 28 12:00:01 gw1 os4x: " + w + "198.18.0.9: x [2020-01-01T00:00:00+00:00]", "198.18.0.9", local(2026, 11, 28, 12, 0, 1)},
		// A date in the middle is no date.
		{"os4x: " + w + "198.18.0.9: notAfter 2020-01-01 00:00:00 etc", "198.18.0.9", time.Time{}},
		{"Nov 28 12:00:01 gw1 java/os4x: [SEVERE] " + w + "198.18.0.9: x", "198.18.0.9", local(2026, 11, 28, 12, 0, 1)},
		// The first "from ADDR:" after the wording, not a later one.
		{w + "198.18.0.1: " + w + "198.18.0.2: y", "198.18.0.1", time.Time{}},
	} {
		f, err := parseAt(c.line, now)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if f.Addr.String() != c.addr || !f.Time.Equal(c.at) {
			t.Errorf("%q: got %v at %v, want %v at %v", c.line, f.Addr, f.Time, c.addr, c.at)
		}
	}
	for _, line := range []string{
		"Nov 28 12:00:01 gw1 os4x: TLS error 1 during connect try from host.example: x",
		"Nov 28 12:00:01 gw1 os4x: TLS error 1 during connect try from fe80::1%eth0: x",
		"Nov 28 12:00:01 gw1 os4x: connection from 198.18.0.1 closed",
		"TLS error during connect try from 198.18.0.1: x",
		// The wording quoted inside another message: whoever wrote that
		// text would choose the address to ban.
		"Nov 28 22:40:01 gw1 os4x[1]: partner name 'TLS error 1 during connect try from 198.18.0.61: x' unknown",
		"Nov 28 22:40:01 gw1 os4x[1]: TLS error x TLS error 1 during connect try from 198.18.0.61: x",
		"[2026-11-28T12:00:01+00:00] session 7: TLS error 1 during connect try from 198.18.0.61: x",
	} {
		if f, err := parseAt(line, now); err == nil {
			t.Errorf("%q parsed as %+v", line, f)
		}
	}
}

// TestTailerWarnsAboutUnparsedLinesRarely: other lines are counted, with a
// warning the first time and then at most every few minutes.
func TestTailerWarnsAboutUnparsedLinesRarely(t *testing.T) {
	fx := newTailFixture(t)
	now := time.Now()
	var logs bytes.Buffer
	tl := fx.tailerWith(TailOptions{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	appendRaw(t, fx.path, "OS4X started\nsession 7 closed\n")
	poll(t, tl)
	appendRaw(t, fx.path, "session 8 closed\n")
	poll(t, tl)
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for 3 unparsed lines in a row, want 1:\n%s", n, logs.String())
	}
	now = now.Add(warnEvery)
	appendRaw(t, fx.path, "session 9 closed\n")
	poll(t, tl)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 || !strings.Contains(logs.String(), "unparsed_lines=4") {
		t.Fatalf("want a second warning counting 4 lines after %v:\n%s", warnEvery, logs.String())
	}
	if s := tl.Stats(); s.Unparsed != 4 || s.Read != 4 {
		t.Errorf("stats %+v", s)
	}
}
