package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LAPI is a CrowdSec Local API run alone (`crowdsec -no-cs`) with its own
// configuration, sqlite database and listen address under one directory:
// no hub, no agent, no systemd and nothing of the machine's own crowdsec.
// cscli is pointed at the same configuration to register bouncers and
// machines and to add decisions, as an operator would.
type LAPI struct {
	Dir    string
	Listen string // host:port
	URL    string // http://host:port/
	netns  string // network namespace path to run in; "" for ours
	cmd    *exec.Cmd
	done   chan struct{}
}

// NeedCrowdSec reports why a Local API cannot be run here, or nil.
func NeedCrowdSec() error {
	for _, tool := range []string{"crowdsec", "cscli"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not installed (make deps installs Debian's crowdsec offline): %w", tool, err)
		}
	}
	return nil
}

// StartLAPI writes a configuration into a temporary directory and starts
// a Local API listening on listen ("" picks a free loopback port). With
// netns set ("/proc/PID/ns/net" or a bind-mounted path) LAPI runs inside
// that network namespace. The test's cleanup stops it by its PID.
func StartLAPI(tb testing.TB, listen, netns string) *LAPI {
	tb.Helper()
	if err := NeedCrowdSec(); err != nil {
		tb.Fatal(err)
	}
	if listen == "" {
		listen = freeLoopbackPort(tb)
	}
	l := &LAPI{Dir: tb.TempDir(), Listen: listen, URL: "http://" + listen + "/", netns: netns}
	if err := l.writeConfig(); err != nil {
		tb.Fatal(err)
	}
	// cscli talks to the database directly for bouncers and machines, and
	// through LAPI (as this machine) for decisions.
	if _, err := l.Cscli("machines", "add", "xdpban-test-cscli", "--auto", "--force"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Stop() })
	if err := l.Start(); err != nil {
		tb.Fatal(err)
	}
	return l
}

func (l *LAPI) configPath() string { return filepath.Join(l.Dir, "config.yaml") }

func (l *LAPI) writeConfig() error {
	d := l.Dir
	files := map[string]string{
		"config.yaml": fmt.Sprintf(`common:
  daemonize: false
  log_media: file
  log_dir: %[1]s
  log_level: info
config_paths:
  config_dir: %[1]s
  data_dir: %[1]s/data
  simulation_path: %[1]s/simulation.yaml
  hub_dir: %[1]s/hub
  index_path: %[1]s/hub/.index.json
crowdsec_service:
  acquisition_path: %[1]s/acquis.yaml
db_config:
  type: sqlite
  db_path: %[1]s/data/crowdsec.db
  use_wal: true
api:
  client:
    credentials_path: %[1]s/local_api_credentials.yaml
  server:
    listen_uri: %[2]s
    profiles_path: %[1]s/profiles.yaml
    console_path: %[1]s/console.yaml
prometheus:
  enabled: false
`, d, l.Listen),
		// An alert without decisions gets a ban from this profile, as on a
		// stock installation.
		"profiles.yaml": `name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
`,
		"simulation.yaml":             "simulation: off\n",
		"local_api_credentials.yaml":  "url: " + l.URL + "\n",
		filepath.Join("hub", ".keep"): "",
	}
	for name, text := range files {
		p := filepath.Join(d, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(d, "data"), 0o700)
}

// command runs name with args, inside the LAPI's network namespace if any.
func (l *LAPI) command(name string, args ...string) *exec.Cmd {
	if l.netns != "" {
		args = append([]string{"--net=" + l.netns, name}, args...)
		name = "nsenter"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = l.Dir
	return cmd
}

// Start starts LAPI (again, after Stop: same database and keys) and waits
// until it accepts connections.
func (l *LAPI) Start() error {
	if l.cmd != nil {
		return errors.New("start lapi: already running")
	}
	out, err := os.OpenFile(filepath.Join(l.Dir, "crowdsec.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := l.command("crowdsec", "-c", l.configPath(), "-no-cs")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start lapi: %w", err)
	}
	l.cmd, l.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(l.done) }()
	deadline := time.Now().Add(HangGuard)
	for time.Now().Before(deadline) {
		select {
		case <-l.done:
			l.cmd = nil
			return fmt.Errorf("lapi exited at start: %s", l.logTail())
		default:
		}
		if l.reachable() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.Stop()
	return fmt.Errorf("lapi did not listen on %s within %s: %s", l.Listen, HangGuard, l.logTail())
}

// reachable reports that LAPI answers HTTP (from the namespace it runs in).
func (l *LAPI) reachable() bool {
	if l.netns != "" {
		return l.command("bash", "-c", "exec 3<>/dev/tcp/"+strings.Replace(l.Listen, ":", "/", 1)).Run() == nil
	}
	c, err := net.DialTimeout("tcp", l.Listen, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop ends LAPI by its PID and waits for it; the database stays.
func (l *LAPI) Stop() {
	if l.cmd == nil {
		return
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		l.cmd.Process.Kill()
		<-l.done
	}
	l.cmd = nil
}

// Cscli runs cscli against this LAPI's configuration and returns its
// standard output (its log lines go to standard error).
func (l *LAPI) Cscli(args ...string) (string, error) {
	cmd := l.command("cscli", append([]string{"-c", l.configPath()}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("cscli %s: %w: %s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// AddBouncer registers a bouncer and returns its API key.
func (l *LAPI) AddBouncer(tb testing.TB, name string) string {
	tb.Helper()
	key := randomHex(16)
	if _, err := l.Cscli("bouncers", "add", name, "-k", key); err != nil {
		tb.Fatal(err)
	}
	return key
}

// AddMachine registers a watcher and returns its password.
func (l *LAPI) AddMachine(tb testing.TB, id string) string {
	tb.Helper()
	pw := randomHex(16)
	if _, err := l.Cscli("machines", "add", id, "--password", pw, "-f", os.DevNull); err != nil {
		tb.Fatal(err)
	}
	return pw
}

func (l *LAPI) logTail() string {
	var b strings.Builder
	for _, f := range []string{"crowdsec.out", "crowdsec_api.log", "crowdsec.log"} {
		data, _ := os.ReadFile(filepath.Join(l.Dir, f))
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		b.Write(data)
	}
	return b.String()
}

func freeLoopbackPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Replay runs a CrowdSec agent once over a log file, as
// `crowdsec -no-api -dsn file://LOG -type TYPE`, with the parsers and
// scenarios under deployDir (parsers/sNN-*/, scenarios/) plus Debian's
// date parser, sending what overflows to this LAPI. With dump set it
// writes -dump-data files instead (parser-dump.yaml: every line after
// every stage), and then sends nothing. It returns the agent's output and
// the dump directory.
func (l *LAPI) Replay(tb testing.TB, deployDir, logPath, typ string, dump bool) (out, dumpDir string, err error) {
	tb.Helper()
	d := tb.TempDir()
	dumpDir = filepath.Join(d, "dump")
	for _, sub := range []string{"parsers/s00-raw", "parsers/s01-parse", "parsers/s02-enrich", "scenarios", "data", "hub", "dump"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			return "", "", err
		}
	}
	copies := map[string]string{
		"/var/lib/crowdsec/hub/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml": "parsers/s02-enrich/dateparse-enrich.yaml",
	}
	for _, glob := range []string{"parsers/*/*.yaml", "scenarios/*.yaml"} {
		files, _ := filepath.Glob(filepath.Join(deployDir, glob))
		for _, f := range files {
			rel, _ := filepath.Rel(deployDir, f)
			copies[f] = rel
		}
	}
	for src, dst := range copies {
		data, err := os.ReadFile(src)
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(filepath.Join(d, dst), data, 0o600); err != nil {
			return "", "", err
		}
	}
	if err := os.Symlink("/etc/crowdsec/patterns", filepath.Join(d, "patterns")); err != nil {
		return "", "", err
	}
	files := map[string]string{
		"config.yaml": fmt.Sprintf(`common:
  daemonize: false
  log_media: stdout
  log_level: info
config_paths:
  config_dir: %[1]s
  data_dir: %[1]s/data
  simulation_path: %[1]s/simulation.yaml
  hub_dir: %[1]s/hub
  index_path: %[1]s/hub/.index.json
crowdsec_service:
  acquisition_path: %[1]s/acquis.yaml
  parser_routines: 1
api:
  client:
    credentials_path: %[2]s
prometheus:
  enabled: false
`, d, filepath.Join(l.Dir, "local_api_credentials.yaml")),
		"simulation.yaml": "simulation: off\n",
		"acquis.yaml":     "",
		// An index without items: the parsers and scenarios are local files.
		"hub/.index.json": `{"parsers":{},"scenarios":{},"postoverflows":{},"collections":{}}`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o600); err != nil {
			return "", "", err
		}
	}
	args := []string{"-c", filepath.Join(d, "config.yaml"), "-no-api", "-dsn", "file://" + logPath, "-type", typ}
	if dump {
		args = append(args, "-dump-data", dumpDir)
	}
	cmd := l.command("crowdsec", args...)
	cmd.Dir = d
	b, err := cmd.CombinedOutput()
	if err != nil {
		return string(b), dumpDir, fmt.Errorf("crowdsec -dsn: %w", err)
	}
	return string(b), dumpDir, nil
}
