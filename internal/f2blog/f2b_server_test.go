package f2blog

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// f2bServer is a real fail2ban-server in the foreground with its own
// config, socket, pid file and database under a test's temp dir, the
// shipped filter and jail, and an action that appends to a file.
type f2bServer struct {
	t    *testing.T
	dir  string
	log  string
	bans string
	cmd  *exec.Cmd
}

func newF2bServer(t *testing.T) *f2bServer {
	needFail2ban(t)
	dir := t.TempDir()
	s := &f2bServer{t: t, dir: dir, log: filepath.Join(dir, "os4x.log"), bans: filepath.Join(dir, "bans")}
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{"jail.d", "filter.d", "action.d"} {
		if err := os.MkdirAll(filepath.Join(conf, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"fail2ban.conf": "[Definition]\nloglevel = INFO\nlogtarget = " + filepath.Join(dir, "fail2ban.out") +
			"\nsocket = " + s.sock() + "\npidfile = " + filepath.Join(dir, "f2b.pid") +
			"\ndbfile = " + filepath.Join(dir, "f2b.sqlite3") + "\n",
		// The test's addresses are documentation ones; never ignore them.
		"jail.conf":              "[DEFAULT]\nignoreself = false\nignoreip =\n",
		"jail.d/os4x.conf":       readFile(t, "../../deploy/fail2ban/jail.d/os4x.conf"),
		"filter.d/os4x.conf":     readFile(t, shippedFilter),
		"jail.d/zz-test.local":   "[os4x]\nlogpath = " + s.log + "\naction = testfile\n",
		"action.d/testfile.conf": "[Definition]\nactionban = echo \"ban <ip>\" >> " + s.bans + "\nactionunban =\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func readFile(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (s *f2bServer) sock() string { return filepath.Join(s.dir, "f2b.sock") }

func (s *f2bServer) start() {
	s.t.Helper()
	out, err := os.OpenFile(filepath.Join(s.dir, "server.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	s.cmd = exec.Command("fail2ban-server", "-f", "-x", "-c", filepath.Join(s.dir, "conf"), "-s", s.sock(), "-p", filepath.Join(s.dir, "f2b.pid"))
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	cmd := s.cmd
	s.t.Cleanup(func() { stopCmd(cmd) })
	s.waitFor("server answers ping", func() bool {
		return exec.Command("fail2ban-client", "-s", s.sock(), "ping").Run() == nil
	})
}

// stop ends the server by its PID and waits for it.
func (s *f2bServer) stop() {
	stopCmd(s.cmd)
}

func stopCmd(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
	}
}

var (
	totalFailedRE = regexp.MustCompile(`Total failed:\s*(\d+)`)
	bannedRE      = regexp.MustCompile(`Banned IP list:[ \t]*(.*)`)
)

// status returns the jail's total failures and banned addresses.
func (s *f2bServer) status() (int, []string) {
	out, err := exec.Command("fail2ban-client", "-s", s.sock(), "status", "os4x").CombinedOutput()
	if err != nil {
		return -1, nil
	}
	m := totalFailedRE.FindSubmatch(out)
	b := bannedRE.FindSubmatch(out)
	if m == nil || b == nil {
		return -1, nil
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, strings.Fields(string(b[1]))
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
	out, _ := os.ReadFile(filepath.Join(s.dir, "fail2ban.out"))
	s.t.Fatalf("fail2ban never reached: %s\n%s", what, out)
}

func (s *f2bServer) waitFailed(n int) {
	s.t.Helper()
	s.waitFor("total failed "+strconv.Itoa(n), func() bool { got, _ := s.status(); return got == n })
}

func (s *f2bServer) banned(addr string) bool {
	_, bans := s.status()
	for _, b := range bans {
		if b == addr {
			return true
		}
	}
	return false
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
	if s.banned(a) {
		t.Fatal("banned after 2 failures")
	}
	logAt(a, time.Now())
	s.waitFor("ban of "+a, func() bool { return s.banned(a) })
	if got := readFile(t, s.bans); got != "ban "+a+"\n" {
		t.Errorf("action calls: %q", got)
	}
	s.stop()

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
	s.waitFor("ban of "+c, func() bool { return s.banned(c) })
	if s.banned(b) {
		t.Errorf("%s banned: old-dated lines counted despite findtime", b)
	}
	if n, _ := s.status(); n != 5 {
		t.Errorf("total failed after restart %d, want 5 (2 recent of b, 3 of c)", n)
	}
}
