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
)

// shippedFilter is the filter deploy/fail2ban ships.
const shippedFilter = "../../deploy/fail2ban/filter.d/os4x.conf"

// os4xFilter is the failregex printed in the OS4X documentation.
const os4xFilter = `^TLS error .+ during connect try from <HOST>: .*$`

func needFail2ban(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"fail2ban-regex", "fail2ban-server", "fail2ban-client"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install fail2ban; .ci/run does): %v", tool, err)
		}
	}
}

// f2bMatch is one failure fail2ban-regex extracted.
type f2bMatch struct {
	addr string
	unix int64
}

var rowRE = regexp.MustCompile(`(?m)^\['([^']*)',\s*(\d+)`)

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
		ms = append(ms, f2bMatch{addr: m[1], unix: ts})
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
}

type written struct {
	addr  netip.Addr
	t     time.Time
	named bool
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
		ws = append(ws, written{f.Addr.Unmap(), f.Time, false})
	}
	for i, name := range hostileNames {
		f := failure(addrs[i%len(addrs)], name)
		f.Code, f.Time = 167772294, base.Add(time.Duration(30+i)*time.Second)
		if _, err := w.Log(f); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, written{f.Addr.Unmap(), f.Time, true})
	}
	return path, ws
}

func TestShippedFilterMatchesEveryLine(t *testing.T) {
	needFail2ban(t)
	path, ws := writeSampleLog(t)
	ms := fail2banRegex(t, path, shippedFilter)
	if len(ms) != len(ws) {
		t.Fatalf("%d lines, %d matches: %v", len(ws), len(ms), ms)
	}
	for i, m := range ms {
		if m.addr != ws[i].addr.String() || m.unix != ws[i].t.Unix() {
			t.Errorf("line %d: fail2ban read %s at %d, written %s at %d", i, m.addr, m.unix, ws[i].addr, ws[i].t.Unix())
		}
	}
}

// TestOS4XFilterCannotBeFramed: the filter in the OS4X documentation matches
// every line without a partner name, with the right address and date. It
// does not match lines with a name (its "from <HOST>: " needs the colon
// right after the address); what matters is that no hostile name makes it
// extract another address.
func TestOS4XFilterCannotBeFramed(t *testing.T) {
	needFail2ban(t)
	path, ws := writeSampleLog(t)
	ms := fail2banRegex(t, path, os4xFilter)
	var want []written
	for _, w := range ws {
		if !w.named {
			want = append(want, w)
		}
	}
	if len(ms) != len(want) {
		t.Fatalf("%d unnamed lines, %d matches: %v", len(want), len(ms), ms)
	}
	for i, m := range ms {
		if m.addr != want[i].addr.String() || m.unix != want[i].t.Unix() {
			t.Errorf("line %d: fail2ban read %s at %d, written %s at %d", i, m.addr, m.unix, want[i].addr, want[i].t.Unix())
		}
	}
	data, _ := os.ReadFile(path)
	for _, bad := range []string{"1.2.3.4", "6.6.6.6", "2001:db8::666", "2020-01-01"} {
		if strings.Contains(string(data), bad) {
			t.Errorf("log holds %q verbatim", bad)
		}
	}
}
