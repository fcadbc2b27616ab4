package main

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// os4xLine is a failure line as OS4X (or any other program) writes it.
func os4xLine(addr netip.Addr) string {
	return "TLS error " + noCertCode + " during connect try from " + addr.String() +
		": peer did not return a certificate. [" + time.Now().UTC().Format("2006-01-02T15:04:05.000-07:00") + "]\n"
}

// appendLine appends to path as another program would: open, write, close.
func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

// TestE2EWatchLogAcrossRotation: a log written by another program bans at
// maxretry, counting each line exactly once across rename rotation and
// copytruncate rotation.
func TestE2EWatchLogAcrossRotation(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	serve(t, lab, tlsPort)
	log := filepath.Join(t.TempDir(), "os4x.log")
	appendLine(t, log, "OS4X started; this line is not a failure\n")
	startDaemon(t, lab, n, "--watch-log", log, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h")
	if r := mustStatus(t, lab, n); !slices.Contains(r.Daemon.Files, log) {
		t.Errorf("status file list %v lacks the watched log", r.Daemon.Files)
	}
	a, b := lab.ClientV4, lab.ClientV6
	marker := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 1, i}) }

	appendLine(t, log, os4xLine(a))
	appendLine(t, log, os4xLine(a))
	waitFailed(t, lab, n, 2)
	if !reach(t, lab, a, lab.ServerV4, tlsPort) {
		t.Fatal("banned after 2 lines with maxretry 3")
	}

	// Rename rotation (logrotate's default): the third line goes to a new
	// file at the same path.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLine(t, log, os4xLine(a))
	waitFailed(t, lab, n, 3)
	waitBanned(t, lab, n, a.String()+"/32")
	if reach(t, lab, a, lab.ServerV4, tlsPort) {
		t.Error("source of watched lines not dropped after the ban")
	}
	// A line after the ban, from someone else: once it is counted, every
	// line before it has been read, so the count proves no line of the
	// rotated file was read twice.
	appendLine(t, log, os4xLine(marker(1)))
	waitFailed(t, lab, n, 4)

	appendLine(t, log, os4xLine(b))
	appendLine(t, log, os4xLine(b))
	waitFailed(t, lab, n, 6)
	if !reach(t, lab, b, lab.ServerV6, tlsPort) {
		t.Fatal("IPv6 source banned after 2 lines")
	}

	// copytruncate rotation: the file keeps its inode and starts again
	// from empty; the next line is written at offset 0.
	copyFile(t, log, log+".2")
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	appendLine(t, log, os4xLine(b))
	waitFailed(t, lab, n, 7)
	waitBanned(t, lab, n, b.String()+"/128")
	if reach(t, lab, b, lab.ServerV6, tlsPort) {
		t.Error("IPv6 source of watched lines not dropped after the ban")
	}
	appendLine(t, log, os4xLine(marker(2)))
	waitFailed(t, lab, n, 8)

	r := mustStatus(t, lab, n)
	if r.Daemon.Failed.TotalBanned != 2 || len(r.Bans) != 2 || r.Daemon.Failures[noCertCode] != 8 {
		t.Errorf("after both rotations: counts %+v by code %v, pinned %+v", r.Daemon.Failed, r.Daemon.Failures, r.Bans)
	}
	if !reach(t, lab, lab.ClientAlt4, lab.ServerV4, tlsPort) {
		t.Error("an address without lines is dropped")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
}

// TestE2EWatchLogFirstStartBansNobody: pointed at a log full of old
// failures, the first start bans nobody (undated lines already there never
// count); lines written afterwards ban as usual, and a missing log is
// picked up once it appears.
func TestE2EWatchLogFirstStartBansNobody(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	dir := t.TempDir()
	log, later := filepath.Join(dir, "os4x.log"), filepath.Join(dir, "later.log")
	a := lab.ClientV4
	var old strings.Builder
	for i := range 300 {
		addr := netip.AddrFrom4([4]byte{198, 18, 2, byte(i % 100)})
		if i%10 == 0 {
			addr = a
		}
		line := os4xUndated(addr)
		if i%3 == 0 { // OS4X through syslog, a day ago
			line = time.Now().Add(-24*time.Hour).Format(time.Stamp) + " gw1 os4x[812]: " + line
		}
		old.WriteString(line)
	}
	appendLine(t, log, old.String())
	d := startDaemon(t, lab, n, "--watch-log", log, "--watch-log", later, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h",
		"--metrics", "127.0.0.1:19619")
	if out := d.stderr.String(); !strings.Contains(out, `level=WARN msg="watched log does not exist yet; it is read once it appears" path=`+later) {
		t.Errorf("no warning about the missing %s:\n%s", later, out)
	}

	// A line written after the start: once it is counted, the 300 before
	// it have been judged.
	appendLine(t, log, os4xUndated(netip.AddrFrom4([4]byte{198, 18, 3, 1})))
	waitFailed(t, lab, n, 1)
	if r := mustStatus(t, lab, n); r.Daemon.Failed.TotalBanned != 0 || len(r.Bans) != 0 {
		t.Fatalf("first start banned from history: %+v %+v", r.Daemon.Failed, r.Bans)
	}
	for range 3 {
		appendLine(t, later, os4xUndated(a))
	}
	waitBanned(t, lab, n, a.String()+"/32")
	appendLine(t, log, "OS4X 5.2 started\n")
	waitUntil(t, "the unparsed line counted", func() bool {
		return strings.Contains(scrape(t, lab, "127.0.0.1:19619", "/metrics"), `xdpban_watch_lines_total{file="`+log+`",result="unparsed"} 1`)
	})
	m := scrape(t, lab, "127.0.0.1:19619", "/metrics")
	for _, want := range []string{
		`xdpban_watch_lines_total{file="` + log + `",result="too_old"} 300`,
		`xdpban_watch_lines_total{file="` + log + `",result="matched"} 1`,
		`xdpban_watch_lines_total{file="` + later + `",result="matched"} 3`,
		`xdpban_watch_rotations_total{file="` + later + `"} 0`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// os4xUndated is a failure line as OS4X writes it itself, without a date.
func os4xUndated(addr netip.Addr) string {
	return "TLS error " + noCertCode + " during connect try from " + addr.String() + ": peer did not return a certificate.\n"
}

// TestE2EWatchLogStopsWhileCatchingUp: SIGTERM while the daemon works
// through a large backlog (each line a failure, every third a ban) ends
// it at once and cleanly: the jail work of a batch is not waited for.
func TestE2EWatchLogStopsWhileCatchingUp(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	log := filepath.Join(t.TempDir(), "os4x.log")
	var b strings.Builder
	const addrs = 40000
	for i := range addrs {
		line := os4xLine(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
		b.WriteString(line + line + line)
	}
	appendLine(t, log, b.String())
	d := startDaemon(t, lab, n, "--watch-log", log, "--watch-log-from-start", "--maxretry", "3", "--findtime", "10m", "--bantime", "1h")
	waitUntil(t, "catch-up under way", func() bool { return totalFailed(t, lab, n) > 0 })
	stop := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5s after SIGTERM while catching up:\n%s", d.stderr.String())
	}
	if !d.cmd.ProcessState.Success() {
		t.Errorf("exit after SIGTERM: %v\n%s", d.cmd.ProcessState, d.stderr.String())
	}
	t.Logf("stopped %v after SIGTERM", time.Since(stop).Round(time.Millisecond))
}

// TestE2EWatchLogFailuresWhileBannedProlong: maxretry failures of a banned
// address, read from a watched log, push its ban out to the last one +
// bantime, in the map and in the store: a start after a reboot (map
// gone) restores the later end.
func TestE2EWatchLogFailuresWhileBannedProlong(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	log := filepath.Join(t.TempDir(), "os4x.log")
	appendLine(t, log, "")
	flags := []string{"--watch-log", log, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h"}
	d := startDaemon(t, lab, n, flags...)
	a := lab.ClientV4
	dated := func(at time.Time) string {
		return "TLS error " + noCertCode + " during connect try from " + a.String() +
			": peer did not return a certificate. [" + at.UTC().Format("2006-01-02T15:04:05.000-07:00") + "]\n"
	}
	first := time.Now().Add(-9 * time.Minute)
	for range 3 {
		appendLine(t, log, dated(first))
	}
	_, end := waitBanned(t, lab, n, a.String()+"/32")
	if d := end.Sub(first.Add(time.Hour)).Abs(); d > time.Second {
		t.Fatalf("first ban ends %v, want %v", end, first.Add(time.Hour))
	}
	last := time.Now()
	for range 3 {
		appendLine(t, log, dated(last))
	}
	waitFailed(t, lab, n, 6)
	waitUntil(t, "the ban prolonged", func() bool {
		_, e, _, _ := daemonBan(mustStatus(t, lab, n), a.String()+"/32")
		return e.Sub(last.Add(time.Hour)).Abs() < time.Second
	})
	if r := mustStatus(t, lab, n); r.Daemon.Failed.TotalBanned != 1 {
		t.Errorf("prolonging counted as a ban: total banned %d", r.Daemon.Failed.TotalBanned)
	}

	d.kill(syscall.SIGTERM)
	xdpban(t, "detach", "--pin-dir", n.pin) // as a reboot leaves it: no map
	startDaemon(t, lab, n, flags...)
	_, end, _, ok := daemonBan(mustStatus(t, lab, n), a.String()+"/32")
	if !ok || end.Sub(last.Add(time.Hour)).Abs() > time.Second {
		t.Fatalf("restored after a reboot: found %v, ends %v; want %v", ok, end, last.Add(time.Hour))
	}
}
