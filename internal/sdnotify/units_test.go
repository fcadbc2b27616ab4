package sdnotify

// Checks of the shipped systemd units (deploy/systemd) and the example
// configuration (deploy/xdpban.yaml). They need systemd-analyze, not a
// running systemd.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	unitDir      = "../../deploy/systemd"
	installedBin = "/usr/sbin/xdpban"
)

// maxExposure is the highest `systemd-analyze security` score accepted per
// unit (0 safest, 10 unsafe); the measured ones are in deploy/systemd/README.md.
var maxExposure = map[string]float64{
	"xdpban.service":         4.0,
	"xdpban-logonly.service": 2.0,
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd); CI installs it and fails on skips")
	}
	return p
}

// stagedUnit copies unit into a temp dir with ExecStart pointing at a copy
// of an existing binary, since verify fails when the binary is missing.
func stagedUnit(t *testing.T, unit string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(unitDir, unit))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "ExecStart="+installedBin+" ") {
		t.Fatalf("%s: ExecStart does not run %s", unit, installedBin)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xdpban")
	exe, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, unit)
	staged := strings.ReplaceAll(string(text), installedBin, bin)
	if err := os.WriteFile(path, []byte(staged), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnitsVerify: systemd-analyze verify passes with no output at all
// (an unknown or misspelt key is only a warning, with exit status 0).
func TestUnitsVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	for unit := range maxExposure {
		out, err := exec.Command(sa, "verify", stagedUnit(t, unit)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestUnitsExposure: systemd-analyze security --offline=true scores each
// unit at or below its ceiling.
func TestUnitsExposure(t *testing.T) {
	sa := systemdAnalyze(t)
	for unit, ceiling := range maxExposure {
		out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", stagedUnit(t, unit)).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security %s: %v\n%s", unit, err, out)
			continue
		}
		m := exposureRE.FindSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s: no exposure level in\n%s", unit, out)
			continue
		}
		score, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: exposure %.1f (ceiling %.1f)", unit, score, ceiling)
		if score > ceiling {
			t.Errorf("%s: exposure %.1f above %.1f\n%s", unit, score, ceiling, out)
		}
	}
}

// unitSettings returns every Key=value of a unit file, values of repeated
// keys in order.
func unitSettings(t *testing.T, unit string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(unitDir, unit))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string][]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line without '=': %q", unit, line)
		}
		kv[k] = append(kv[k], v)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestUnitsPrivileges pins the security decisions the scores do not show.
func TestUnitsPrivileges(t *testing.T) {
	main := unitSettings(t, "xdpban.service")
	want := map[string]string{
		"Type":                    "notify",
		"NotifyAccess":            "main",
		"WatchdogSec":             "30s",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"CapabilityBoundingSet":   "CAP_BPF CAP_NET_ADMIN CAP_PERFMON",
		"AmbientCapabilities":     "CAP_BPF CAP_NET_ADMIN CAP_PERFMON",
		"ReadWritePaths":          "/sys/fs/bpf",
		"ProtectSystem":           "strict",
		"ReadOnlyPaths":           "/sys /proc/sys -/proc/sysrq-trigger | -/proc/acpi -/proc/apm -/proc/asound -/proc/bus -/proc/fs -/proc/irq | -/proc/latency_stats -/proc/mtrr -/proc/scsi -/proc/timer_stats",
		"InaccessiblePaths":       "-/proc/kallsyms -/proc/kcore",
		"StateDirectory":          "xdpban",
		"LogsDirectory":           "xdpban",
		"RuntimeDirectory":        "xdpban",
		"SystemCallFilter":        "@system-service bpf",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"UMask":                   "0077",
		"NoNewPrivileges":         "yes",
	}
	for k, v := range want {
		if got := strings.Join(main[k], " | "); got != v {
			t.Errorf("xdpban.service: %s=%q, want %q", k, got, v)
		}
	}
	// systemd lists /sys/fs/bpf read-only under ProtectKernelTunables and
	// ReadWritePaths= cannot undo that: the daemon could not pin
	// (.ci/nspawn.sh starts the unit under systemd 252 and sees EROFS).
	if _, ok := main["ProtectKernelTunables"]; ok {
		t.Error("xdpban.service: ProtectKernelTunables= set; it makes /sys/fs/bpf read-only whatever ReadWritePaths= says")
	}
	if _, ok := main["User"]; ok {
		t.Error("xdpban.service: User= set; uid 0 owns the bpffs pins (see README)")
	}

	lo := unitSettings(t, "xdpban-logonly.service")
	for k, v := range map[string]string{
		"DynamicUser":           "yes",
		"CapabilityBoundingSet": "",
		"AmbientCapabilities":   "",
		"Type":                  "notify",
	} {
		if got := strings.Join(lo[k], " | "); got != v {
			t.Errorf("xdpban-logonly.service: %s=%q, want %q", k, got, v)
		}
	}
	if start := strings.Join(lo["ExecStart"], ""); !strings.Contains(start, " run --log-only ") {
		t.Errorf("xdpban-logonly.service: ExecStart %q lacks run --log-only", start)
	}
	if strings.Contains(strings.Join(lo["ReadWritePaths"], " "), "/sys/fs/bpf") {
		t.Error("xdpban-logonly.service: writes bpffs, which log-only never needs")
	}
}
