package f2blog

import (
	"os"
	"path/filepath"
	"strconv"
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
