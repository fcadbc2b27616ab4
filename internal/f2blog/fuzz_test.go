package f2blog

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts it can write back
// in a form that parses to the same failure, with the same address and no
// second line.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate. [2026-11-25T10:48:28.123+00:00]",
		"[2026-11-25T10:48:28.123+00:00] TLS error 167772294 during connect try from 2001:db8::7: certificate verify failed",
		"TLS error 167772418 during connect try from 198.18.0.9: unsupported protocol",
		"TLS error 167772294 during connect try from 2001:db8:: (ACME \\x32): x [2026-11-25T11:48:28+01:00]",
		"TLS error 1 during connect try from 1.2.3.4 (x during connect try from 6.6.6.6: y): z",
		"TLS error 1 during connect try from 1.2.3.4: notAfter 2020-01-01 00:00:00 [2026-11-25T10:48:28Z]",
		"TLS error 1 during connect try from ::ffff:1.2.3.4:",
		"[x] TLS error 1 during connect try from 1.2.3.4: [",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := Parse(line)
		if err != nil {
			return
		}
		if !ev.Addr.IsValid() || ev.Addr.Is4In6() || ev.Addr.Zone() != "" {
			t.Fatalf("%q: bad address %v", line, ev.Addr)
		}
		mode := TimeEnd
		if ev.Time.IsZero() {
			mode = TimeNone
		}
		again := Format(ev, mode)
		if strings.ContainsAny(again, "\r\n") {
			t.Fatalf("%q: rewritten as more than one line: %q", line, again)
		}
		back, err := Parse(again)
		if err != nil {
			t.Fatalf("%q: rewritten %q does not parse: %v", line, again, err)
		}
		if back.Addr != ev.Addr || back.Code != ev.Code || !back.Time.Equal(ev.Time.Truncate(1e6)) {
			t.Fatalf("%q: rewritten %q parses as %+v, was %+v", line, again, back, ev)
		}
		if len(ev.Name) <= MaxNameLen && back.Name != ev.Name {
			t.Fatalf("%q: name %q came back as %q", line, ev.Name, back.Name)
		}
	})
}

// FuzzEscapeName: whatever a certificate's name says, the escaped name
// holds no dot but the cut marker, not the word "from" in any case, nothing
// outside the safe set but \xHH escapes, and reads back as the cut name.
func FuzzEscapeName(f *testing.F) {
	for _, s := range []string{"ACME GmbH", "a during connect try from localhost b", "FrOm x.y", "fr\u043em", "\x7from0", strings.Repeat("from ", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		esc := EscapeName(name)
		body, cut := strings.CutSuffix(esc, "...")
		if cut != (len(name) > MaxNameLen) {
			t.Fatalf("%q: escaped %q, cut marker %v", name, esc, cut)
		}
		if strings.Contains(strings.ToLower(esc), hostKeyword) {
			t.Fatalf("%q: escaped %q holds %q", name, esc, hostKeyword)
		}
		for i := 0; i < len(body); i++ {
			if body[i] == '\\' && i+3 < len(body) && body[i+1] == 'x' {
				i += 3
				continue
			}
			if !nameSafe(body[i]) {
				t.Fatalf("%q: escaped %q holds %q", name, esc, body[i])
			}
		}
		want := name
		if cut {
			want = name[:MaxNameLen]
		}
		if back := UnescapeName(body); back != want {
			t.Fatalf("%q: escaped %q reads back as %q", name, esc, back)
		}
	})
}
