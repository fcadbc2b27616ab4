package listener

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/testutil"
)

// hostileCNs try to make a filter read another address or an older date.
var hostileCNs = []string{
	"x during connect try from 1.2.3.4: y",
	"notAfter 2020-01-01 00:00:00",
	"a\nTLS error 167772359 during connect try from 6.6.6.6: b [2020-01-01T00:00:00.000+00:00]",
	"evil (from 2001:db8::666: z)",
	"a during connect try from localhost b",
	"a during connect try From localhost.localdomain (b): c",
	"a during connect try fr\u043em localhost b",
}

// TestHostileSubjectNames: partners with verified certificates but hostile
// subject names, denied by the allow-list, are logged with their name; the
// name cannot change the address or date the shipped filter or the OS4X
// documentation's filter extracts, nor make either read a host name.
func TestHostileSubjectNames(t *testing.T) {
	p := newPKI(t)
	r := startRig(t, p, func(c *Config) { c.AllowCN = []string{"ACME GmbH"} })
	for _, cn := range hostileCNs {
		cert, _ := p.ca.issue(t, leafOpts{cn: cn, eku: clientEKU})
		if err := goClient(r.addr, r.clientConfig(&cert)); err == nil {
			t.Fatalf("%q accepted", cn)
		}
	}
	if err := goClient(r.addr, r.clientConfig(nil)); err == nil {
		t.Fatal("no-cert client accepted")
	}
	fs := r.settle()
	if len(fs) != len(hostileCNs)+1 {
		t.Fatalf("%d failures: %+v", len(fs), fs)
	}
	names := map[string]bool{}
	for _, f := range fs {
		back, err := f2blog.Parse(f.Line)
		if err != nil || back.Addr != f.Addr || f.Addr.String() != "127.0.0.1" || strings.ContainsAny(f.Line, "\r\n") {
			t.Errorf("line %q: %+v %v", f.Line, back, err)
		}
		names[back.Name] = true
	}
	for _, cn := range hostileCNs {
		if len(cn) > f2blog.MaxNameLen {
			cn = cn[:f2blog.MaxNameLen] + "..."
		}
		if !names[cn] {
			t.Errorf("name %q not logged (escaped and back)", cn)
		}
	}

	if _, err := exec.LookPath("fail2ban-regex"); err != nil {
		t.Skipf("fail2ban-regex not installed (apt-get install fail2ban; .ci/run does): %v", err)
	}
	shipped := regexRows(t, r.logPath, "../../deploy/fail2ban/filter.d/os4x.conf")
	if len(shipped) != len(fs) {
		t.Errorf("shipped filter matched %d of %d lines", len(shipped), len(fs))
	}
	wiki, err := testutil.WriteOS4XWikiFilter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os4x := regexRows(t, r.logPath, wiki)
	if len(os4x) != len(fs) {
		t.Errorf("OS4X documentation's filter matched %d of %d lines", len(os4x), len(fs))
	}
	times := map[int64]bool{}
	for _, f := range fs {
		times[f.Time.Unix()] = true
	}
	for _, row := range append(shipped, os4x...) {
		if row.addr != "127.0.0.1" || row.host != "" {
			t.Errorf("filter extracted %s (host name %q)", row.addr, row.host)
		}
		if !times[row.unix] {
			t.Errorf("filter dated a line %v, not the line's own time", time.Unix(row.unix, 0).UTC())
		}
	}
}

var (
	rowRE = regexp.MustCompile(`(?m)^\['([^']*)',\s*(\d+),(.*)$`)
	dnsRE = regexp.MustCompile(`'dns': '([^']*)'`)
)

// regexRow is one match: the address, the date, and the host name <HOST>
// took and fail2ban resolved to addr, if it took one.
type regexRow struct {
	addr string
	unix int64
	host string
}

// regexRows returns the address and date fail2ban-regex read per match.
func regexRows(t *testing.T, log, filter string) []regexRow {
	t.Helper()
	out, err := exec.Command("fail2ban-regex", "-o", "row", "--timezone", "UTC", log, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	var rows []regexRow
	for _, m := range rowRE.FindAllStringSubmatch(string(out), -1) {
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		var host string
		if d := dnsRE.FindStringSubmatch(m[3]); d != nil {
			host = d[1]
		}
		rows = append(rows, regexRow{m[1], n, host})
	}
	return rows
}
