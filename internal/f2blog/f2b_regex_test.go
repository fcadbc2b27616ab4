package f2blog

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// shippedFilter is the filter deploy/fail2ban ships.
const shippedFilter = "../../deploy/fail2ban/filter.d/os4x.conf"

// wikiFilter writes the filter the OS4X documentation prints and returns
// its path.
func wikiFilter(t *testing.T) string {
	t.Helper()
	path, err := testutil.WriteOS4XWikiFilter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func needFail2ban(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"fail2ban-regex", "fail2ban-server", "fail2ban-client"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install fail2ban; .ci/run does): %v", tool, err)
		}
	}
}

// f2bMatch is one failure fail2ban-regex extracted; host is the host name
// <HOST> took, if it took one instead of an address.
type f2bMatch struct {
	addr string
	unix int64
	host string
}

var (
	rowRE = regexp.MustCompile(`(?m)^\['([^']*)',\s*(\d+),(.*)$`)
	dnsRE = regexp.MustCompile(`'dns': '([^']*)'`)
)

// fail2banRegex runs fail2ban-regex over log with filter (a file or a
// regex) and returns what it extracted, in line order.
func fail2banRegex(t *testing.T, log, filter string) []f2bMatch {
	t.Helper()
	out, err := exec.Command("fail2ban-regex", "-o", "row", log, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	var ms []f2bMatch
	for _, m := range rowRE.FindAllStringSubmatch(string(out), -1) {
		ts, _ := strconv.ParseInt(m[2], 10, 64)
		var host string
		if d := dnsRE.FindStringSubmatch(m[3]); d != nil {
			host = d[1]
		}
		ms = append(ms, f2bMatch{addr: m[1], unix: ts, host: host})
	}
	return ms
}

// hostileNames are partner names that try to make a filter read another
// address or an older date.
var hostileNames = []string{
	"x during connect try from 1.2.3.4: y",
	"notAfter 2020-01-01 00:00:00",
	"a\nTLS error 167772359 during connect try from 6.6.6.6: b [2020-01-01T00:00:00.000+00:00]",
	"evil (from 2001:db8::666: z)",
	"20200101T000000 @400000005e0bdf8000000000",
	"\r\n[2020-01-01T00:00:00.000+00:00]",
	// The OS4X documentation's second regex, "from <HOST> (.+): ", takes
	// host names and resolves them.
	"a during connect try from localhost b",
	"a during connect try from ip6-localhost b",
	"x during connect try from localhost.localdomain (y): z",
	"a during connect try from xdpban-unresolvable.invalid b",
	"a during connect try FROM localhost b",
	"a during connect try from localhost: b",
	"a during connect try from\tlocalhost b",
	"a\nTLS error 1 during connect try from localhost b",
	"a during connect try \uff46\uff52\uff4f\uff4d localhost b",
	"a during connect try fr\u043em localhost b",
	"a during connect try from \u0661\u0662\u0667.\u0660.\u0660.\u0661 b",
	"from localhost (from localhost): from localhost",
	strings.Repeat("x", MaxNameLen-len("a during connect try fro")) + "a during connect try from localhost b",
}

type written struct {
	addr netip.Addr
	t    time.Time
}

// writeSampleLog writes every code the listener uses from IPv4 and IPv6
// peers, plus hostile names, and returns what was written.
func writeSampleLog(t *testing.T) (string, []written) {
	path := filepath.Join(t.TempDir(), "os4x.log")
	w, err := OpenWriter(path, TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	base := time.Now().Truncate(time.Second).Add(-time.Minute)
	var ws []written
	codes := []uint32{167772359, 167772294, 167772418, 167772353, 167772316, 167772427, 167772454, 167773208, 2147483758, 2147483752}
	addrs := []string{"198.18.0.1", "2001:db8::5", "::ffff:198.18.0.2", "2001:db8::"}
	for i, code := range codes {
		f := failure(addrs[i%len(addrs)], "")
		f.Code, f.Time = code, base.Add(time.Duration(i)*time.Second).In(time.FixedZone("", (i%3-1)*3600))
		if _, err := w.Log(f); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, written{f.Addr.Unmap(), f.Time})
	}
	for i, name := range hostileNames {
		f := failure(addrs[i%len(addrs)], name)
		f.Code, f.Time = 167772294, base.Add(time.Duration(30+i)*time.Second)
		if _, err := w.Log(f); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, written{f.Addr.Unmap(), f.Time})
	}
	return path, ws
}

// checkRows compares what fail2ban-regex extracted with what was written:
// one match per line, the written address and date, and never a host name.
func checkRows(t *testing.T, filter string, ms []f2bMatch, ws []written) {
	t.Helper()
	if len(ms) != len(ws) {
		t.Fatalf("%s: %d lines, %d matches: %v", filter, len(ws), len(ms), ms)
	}
	for i, m := range ms {
		if m.addr != ws[i].addr.String() || m.unix != ws[i].t.Unix() || m.host != "" {
			t.Errorf("%s line %d: fail2ban read %s (host %q) at %d, written %s at %d", filter, i, m.addr, m.host, m.unix, ws[i].addr, ws[i].t.Unix())
		}
	}
}

func TestShippedFilterMatchesEveryLine(t *testing.T) {
	needFail2ban(t)
	path, ws := writeSampleLog(t)
	checkRows(t, "shipped", fail2banRegex(t, path, shippedFilter), ws)
}

// TestOS4XFilterCannotBeFramed: the filter in the OS4X documentation reads
// every line, named or not, with the right address and date: no hostile
// name makes it take a host name (which it would resolve, framing that
// host, or drop the line when it does not resolve) or another address.
func TestOS4XFilterCannotBeFramed(t *testing.T) {
	needFail2ban(t)
	path, ws := writeSampleLog(t)
	checkRows(t, "OS4X documentation", fail2banRegex(t, path, wikiFilter(t)), ws)
	data, _ := os.ReadFile(path)
	for _, bad := range []string{"1.2.3.4", "6.6.6.6", "2001:db8::666", "2020-01-01", "from localhost", ".invalid"} {
		if strings.Count(string(data), bad) != 0 {
			t.Errorf("log holds %q verbatim", bad)
		}
	}
}
