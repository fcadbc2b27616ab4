package f2blog

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestDeployFilesLoadInStockFail2ban lays the shipped files over a copy of
// the system's /etc/fail2ban and has fail2ban-client dump the resulting
// configuration: the jail has the agreed settings and the Debian-safe
// action, and action.d/xdpban.conf calls xdpban ban/unban.
func TestDeployFilesLoadInStockFail2ban(t *testing.T) {
	needFail2ban(t)
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		t.Skipf("no stock /etc/fail2ban (apt-get install fail2ban; .ci/run does): %v", err)
	}
	dir := filepath.Join(t.TempDir(), "fail2ban")
	if out, err := exec.Command("cp", "-r", "/etc/fail2ban", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/fail2ban: %v\n%s", err, out)
	}
	// Keep only our jail so the dump does not depend on the machine's.
	os.RemoveAll(filepath.Join(dir, "jail.d"))
	os.Remove(filepath.Join(dir, "jail.local"))
	os.MkdirAll(filepath.Join(dir, "jail.d"), 0o755)
	for _, f := range []string{"jail.d/os4x.conf", "filter.d/os4x.conf", "action.d/xdpban.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, "../../deploy/fail2ban/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(t.TempDir(), "os4x.log")
	os.WriteFile(log, nil, 0o644)
	local := filepath.Join(dir, "jail.d", "zz-test.local")
	os.WriteFile(local, []byte("[os4x]\nlogpath = "+log+"\n"), 0o644)

	dump := func() string {
		out, err := exec.Command("fail2ban-client", "-c", dir, "-d").CombinedOutput()
		if err != nil {
			t.Fatalf("fail2ban-client -d: %v\n%s", err, out)
		}
		return string(out)
	}
	out := dump()
	for _, want := range []string{
		`['add', 'os4x', 'polling']`,
		`['set', 'os4x', 'maxretry', 3]`,
		`['set', 'os4x', 'findtime', '10m']`,
		`['set', 'os4x', 'bantime', '1h']`,
		`['set', 'os4x', 'addaction', 'nftables-multiport']`,
		`['port', '6619']`,
		`['set', 'os4x', 'datepattern', '\\[(%Y-%m-%dT%H:%M:%S(?:\\.%f)?%z)\\]$']`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %s", want)
		}
	}
	if strings.Count(out, "'addfailregex'") != 1 {
		t.Errorf("want exactly one failregex:\n%s", out)
	}

	os.WriteFile(local, []byte("[os4x]\nlogpath = "+log+"\naction = xdpban\n"), 0o644)
	out = dump()
	for _, want := range []string{
		`['set', 'os4x', 'addaction', 'xdpban']`,
		`['actionban', 'xdpban ban <ip> --duration <bantime>']`,
		`['actionprolong', 'xdpban ban <ip> --duration <bantime>']`,
		`['actionunban', 'xdpban unban <ip>']`,
		`['xdpban', 'xdpban']`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %s", want)
		}
	}
}

var logpathRE = regexp.MustCompile(`(?m)^logpath\s*=\s*(\S+)\s*$`)

// TestShippedJailReadsTheLogTheDaemonWrites: the shipped jail's logpath is
// the daemon's default --fail2ban-log, and `fail2ban-client -t` accepts the
// shipped files with their defaults when exactly that file exists. It runs
// in a mount namespace of its own with a tmpfs on /var/log, so the
// machine's /var/log is not touched.
func TestShippedJailReadsTheLogTheDaemonWrites(t *testing.T) {
	jailConf := readFile(t, "../../deploy/fail2ban/jail.d/os4x.conf")
	m := logpathRE.FindStringSubmatch(jailConf)
	if m == nil || m[1] != DefaultLogPath {
		t.Fatalf("jail.d/os4x.conf logpath %v, want the daemon's default %s", m, DefaultLogPath)
	}
	testutil.RequireRoot(t)
	needFail2ban(t)
	if _, err := os.Stat("/etc/fail2ban/jail.conf"); err != nil {
		t.Fatalf("no stock /etc/fail2ban (apt-get install fail2ban; make deps does): %v", err)
	}
	dir := filepath.Join(t.TempDir(), "fail2ban")
	if out, err := exec.Command("cp", "-r", "/etc/fail2ban", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy /etc/fail2ban: %v\n%s", err, out)
	}
	os.RemoveAll(filepath.Join(dir, "jail.d"))
	os.Remove(filepath.Join(dir, "jail.local"))
	os.MkdirAll(filepath.Join(dir, "jail.d"), 0o755)
	for _, f := range []string{"jail.d/os4x.conf", "filter.d/os4x.conf", "action.d/xdpban.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, "../../deploy/fail2ban/"+f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(create string) (string, error) {
		script := "mount -t tmpfs tmpfs /var/log && "
		if create != "" {
			script += "mkdir -p " + filepath.Dir(create) + " && : > " + create + " && "
		}
		script += "fail2ban-client -c " + dir + " -t"
		out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script).CombinedOutput()
		return string(out), err
	}
	if out, err := check(DefaultLogPath); err != nil {
		t.Fatalf("fail2ban-client -t with the shipped files and %s present: %v\n%s", DefaultLogPath, err, out)
	}
	// The check has teeth: without the daemon's log the jail is refused.
	if out, err := check(""); err == nil || !strings.Contains(out, "log file") {
		t.Fatalf("fail2ban-client -t passed without %s: %v\n%s", DefaultLogPath, err, out)
	}
}
