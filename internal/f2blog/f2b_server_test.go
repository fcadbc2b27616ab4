package f2blog

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// f2bServer is testutil's fail2ban-server with the shipped filter and
// jail watching log, and an action that appends to bans.
type f2bServer struct {
	*testutil.Fail2ban
	t         *testing.T
	log, bans string
}

func newF2bServer(t *testing.T) *f2bServer {
	needFail2ban(t)
	dir := t.TempDir()
	s := &f2bServer{t: t, log: filepath.Join(dir, "os4x.log"), bans: filepath.Join(dir, "bans")}
	var err error
	s.Fail2ban, err = testutil.NewFail2ban(dir, "../../deploy/fail2ban", map[string]string{
		"jail.d/zz-test.local":   "[os4x]\nlogpath = " + s.log + "\naction = testfile\n",
		"action.d/testfile.conf": "[Definition]\nactionban = echo \"ban <ip>\" >> " + s.bans + "\nactionunban =\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func readFile(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (s *f2bServer) start() {
	s.t.Helper()
	if err := s.Start(); err != nil {
		s.t.Fatal(err)
	}
}

// status returns the jail's total failures and banned addresses.
func (s *f2bServer) status() (int, []string) {
	n, bans, _ := s.Status()
	return n, bans
}

// waitFor polls cond; the minute is only a failsafe against a hung
// server, not a measured expectation.
func (s *f2bServer) waitFor(what string, cond func() bool) {
	s.t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	s.t.Fatalf("fail2ban never reached: %s\n%s", what, s.ServerLog())
}

func (s *f2bServer) waitFailed(n int) {
	s.t.Helper()
	s.waitFor("total failed "+strconv.Itoa(n), func() bool { got, _ := s.status(); return got == n })
}

func TestFail2banServerBansOnThirdAndHonoursFindtime(t *testing.T) {
	s := newF2bServer(t)
	w, err := OpenWriter(s.log, TimeEnd) // the log starts empty
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	logAt := func(addr string, at time.Time) {
		f := failure(addr, "")
		f.Time = at
		if _, err := w.Log(f); err != nil {
			t.Fatal(err)
		}
	}
	s.start()

	// Exactly the third failure bans, the first line of the empty file
	// included.
	const a = "198.18.0.10"
	logAt(a, time.Now())
	s.waitFailed(1)
	logAt(a, time.Now())
	s.waitFailed(2)
	if s.Banned(a) {
		t.Fatal("banned after 2 failures")
	}
	logAt(a, time.Now())
	s.waitFor("ban of "+a, func() bool { return s.Banned(a) })
	// fail2ban lists the ban before its action has run.
	s.waitFor("the ban action", func() bool { b, _ := os.ReadFile(s.bans); return len(b) > 0 })
	if got := readFile(t, s.bans); got != "ban "+a+"\n" {
		t.Errorf("action calls: %q", got)
	}
	s.Stop()

	// While fail2ban is down: b has three failures from 20 minutes ago
	// (outside findtime 10m) and two recent ones, so it must not be
	// banned; c has three recent ones and must be.
	const b, c = "198.18.0.20", "198.18.0.30"
	for range 3 {
		logAt(b, time.Now().Add(-20*time.Minute))
	}
	logAt(b, time.Now())
	logAt(b, time.Now())
	for range 3 {
		logAt(c, time.Now())
	}
	s.start()
	// fail2ban reads the file in order, so once c (written last) is banned
	// every line of b has been judged.
	s.waitFor("ban of "+c, func() bool { return s.Banned(c) })
	if s.Banned(b) {
		t.Errorf("%s banned: old-dated lines counted despite findtime", b)
	}
	if n, _ := s.status(); n != 5 {
		t.Errorf("total failed after restart %d, want 5 (2 recent of b, 3 of c)", n)
	}
}

// TestImportBansCarriesFail2bansBans: deploy/fail2ban/import-bans.sh hands
// every ban fail2ban has in force to `xdpban ban` with the time it has
// left, and permanent ones as permanent.
func TestImportBansCarriesFail2bansBans(t *testing.T) {
	s := newF2bServer(t)
	os.WriteFile(s.log, nil, 0o640)
	s.start()
	client := func(args ...string) {
		if out, err := s.Client(args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "xdpban")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755)
	run := func() []string {
		os.Remove(calls)
		cmd := exec.Command("sh", "../../deploy/fail2ban/import-bans.sh", "os4x")
		cmd.Env = append(os.Environ(), "XDPBAN="+fake, "FAIL2BAN_CLIENT=fail2ban-client -s "+s.Sock())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("import-bans.sh: %v\n%s", err, out)
		}
		got := strings.Split(strings.TrimSpace(readFile(t, calls)), "\n")
		sort.Strings(got)
		return got
	}
	client("set", "os4x", "banip", "198.18.0.7")
	client("set", "os4x", "banip", "2001:db8::7")
	got := run()
	for i, a := range []string{"198.18.0.7", "2001:db8::7"} {
		if i >= len(got) {
			t.Fatalf("calls %q", got)
		}
		f := strings.Fields(got[i])
		left, err := strconv.Atoi(f[len(f)-1])
		if len(f) != 4 || f[1] != a || err != nil || left < 3500 || left > 3600 {
			t.Errorf("call %q, want ban %s --duration about 3600", got[i], a)
		}
	}
	// A ban xdpban refuses does not stop the others; the status says so.
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\ncase $2 in 198.18.0.7) exit 1;; esac\n"), 0o755)
	os.Remove(calls)
	cmd := exec.Command("sh", "../../deploy/fail2ban/import-bans.sh", "os4x")
	cmd.Env = append(os.Environ(), "XDPBAN="+fake, "FAIL2BAN_CLIENT=fail2ban-client -s "+s.Sock())
	if out, err := cmd.CombinedOutput(); err == nil || strings.Count(readFile(t, calls), "\n") != 2 {
		t.Errorf("one refused ban: exit %v, calls %q, want exit 1 after both\n%s", err, readFile(t, calls), out)
	}
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755)

	// With bantime -1 every ban of the jail is permanent.
	client("set", "os4x", "bantime", "-1")
	client("set", "os4x", "banip", "198.18.0.8")
	got = run()
	if strings.Join(got, ",") != "ban 198.18.0.7 --duration -1,ban 198.18.0.8 --duration -1,ban 2001:db8::7 --duration -1" {
		t.Errorf("permanent bans: calls %q", got)
	}
}
