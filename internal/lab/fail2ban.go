package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fail2ban is a real fail2ban-server run in the foreground with its own
// configuration, socket, pid file and database under one directory: the
// shipped os4x filter and jail (deploy/fail2ban), plus whatever files the
// caller adds, as an operator's jail.d/*.local would. Tests, the end-to-end
// suite and the benchmarks use it to compare xdpban with stock fail2ban.
type Fail2ban struct {
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// NeedFail2ban reports why fail2ban cannot be run here, or nil.
func NeedFail2ban() error {
	for _, tool := range []string{"fail2ban-server", "fail2ban-client"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not installed (apt-get install fail2ban; make deps does): %w", tool, err)
		}
	}
	return nil
}

// NewFail2ban writes the configuration into dir/conf: the shipped jail and
// filter read from deployDir (the repository's deploy/fail2ban), no
// ignored addresses (the labs use documentation ones), and extra files by
// their path under conf (e.g. "jail.d/zz-test.local").
func NewFail2ban(dir, deployDir string, extra map[string]string) (*Fail2ban, error) {
	f := &Fail2ban{Dir: dir}
	files := map[string]string{
		"fail2ban.conf": "[Definition]\nloglevel = INFO\nlogtarget = " + filepath.Join(dir, "fail2ban.out") +
			"\nsocket = " + f.Sock() + "\npidfile = " + f.pidFile() + "\ndbfile = " + filepath.Join(dir, "f2b.sqlite3") + "\n",
		"jail.conf": "[DEFAULT]\nignoreself = false\nignoreip =\n",
	}
	for _, name := range []string{"jail.d/os4x.conf", "filter.d/os4x.conf"} {
		b, err := os.ReadFile(filepath.Join(deployDir, name))
		if err != nil {
			return nil, fmt.Errorf("fail2ban config: %w", err)
		}
		files[name] = string(b)
	}
	for name, body := range extra {
		files[name] = body
	}
	for name, body := range files {
		path := filepath.Join(dir, "conf", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Sock is the server's control socket.
func (f *Fail2ban) Sock() string { return filepath.Join(f.Dir, "f2b.sock") }

func (f *Fail2ban) pidFile() string { return filepath.Join(f.Dir, "f2b.pid") }

// Start runs the server and returns once its os4x jail answers. It may be
// called again after Stop, on the same configuration and database.
func (f *Fail2ban) Start() error {
	out, err := os.OpenFile(filepath.Join(f.Dir, "server.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	f.cmd = exec.Command("fail2ban-server", "-f", "-x", "-c", filepath.Join(f.Dir, "conf"), "-s", f.Sock(), "-p", f.pidFile())
	f.cmd.Stdout, f.cmd.Stderr = out, out
	if err := f.cmd.Start(); err != nil {
		return fmt.Errorf("start fail2ban-server: %w", err)
	}
	f.done = make(chan struct{})
	go func() { f.cmd.Wait(); close(f.done) }()
	// The deadline is a failsafe against a server that never comes up.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-f.done:
			return fmt.Errorf("fail2ban-server exited: %s", f.ServerLog())
		default:
		}
		if _, err := f.Client("status", "os4x"); err == nil {
			return nil
		}
	}
	f.Stop()
	return fmt.Errorf("fail2ban-server not ready after 30s: %s", f.ServerLog())
}

// Stop ends the server we started, by its PID, and waits for it.
func (f *Fail2ban) Stop() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	select {
	case <-f.done:
		return
	default:
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(time.Minute):
		f.cmd.Process.Kill()
		<-f.done
	}
}

// Client runs fail2ban-client against this server.
func (f *Fail2ban) Client(args ...string) (string, error) {
	out, err := exec.Command("fail2ban-client", append([]string{"-s", f.Sock()}, args...)...).CombinedOutput()
	return string(out), err
}

var (
	totalFailedRE = regexp.MustCompile(`Total failed:\s*(\d+)`)
	bannedListRE  = regexp.MustCompile(`Banned IP list:[ \t]*(.*)`)
)

// Status returns the os4x jail's total failures and banned addresses.
func (f *Fail2ban) Status() (failed int, banned []string, err error) {
	out, err := f.Client("status", "os4x")
	if err != nil {
		return -1, nil, fmt.Errorf("fail2ban-client status: %w: %s", err, out)
	}
	m, b := totalFailedRE.FindStringSubmatch(out), bannedListRE.FindStringSubmatch(out)
	if m == nil || b == nil {
		return -1, nil, errors.New("fail2ban-client status: unexpected output: " + out)
	}
	n, _ := strconv.Atoi(m[1])
	return n, strings.Fields(b[1]), nil
}

// Banned reports whether the os4x jail lists addr as banned.
func (f *Fail2ban) Banned(addr string) bool {
	_, bans, _ := f.Status()
	for _, b := range bans {
		if b == addr {
			return true
		}
	}
	return false
}

// ServerLog is fail2ban's own log, for failure messages.
func (f *Fail2ban) ServerLog() string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "fail2ban.out"))
	return string(b)
}
