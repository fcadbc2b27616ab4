package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
)

// TestWatchLogReadOnce: a log named twice, however spelled, or the log the
// daemon writes itself, is refused at start; read twice, every failure
// in it counted twice and maxretry 3 banned after two.
func TestWatchLogReadOnce(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "os4x.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(log, link); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "tls.log")
	for _, c := range []struct {
		watch []string
		want  string
	}{
		{[]string{log, log}, "named twice"},
		{[]string{log, dir + "/./os4x.log"}, "named twice"},
		{[]string{log, link}, "named twice"},
		{[]string{filepath.Join(dir, "missing.log"), dir + "//missing.log"}, "named twice"},
		{[]string{own}, "it is the --fail2ban-log this daemon writes"},
	} {
		o := banningOptions(dir, own, c.watch)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("watch-log %v: %v, want an error saying %q", c.watch, err, c.want)
		}
	}
	o := banningOptions(dir, own, []string{log, filepath.Join(dir, "other.log")})
	if err := o.Validate(); err != nil {
		t.Errorf("two different logs: %v", err)
	}
}

// TestLogOnlyRefusesWatchLog: log-only mode runs no jail, so a watched
// log would be read and its failures dropped; the start says so instead.
func TestLogOnlyRefusesWatchLog(t *testing.T) {
	dir := t.TempDir()
	for _, l := range []*listener.Config{{}, nil} {
		o := Options{StateDir: dir, LogOnly: true, Listener: l, Fail2banLog: filepath.Join(dir, "tls.log"), WatchLogs: []string{"/var/log/os4x/fail2ban.log"}}
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), "point stock fail2ban at it") {
			t.Errorf("log-only, listener %v, watch-log: %v, want a refusal naming what to do", l != nil, err)
		}
	}
}

// banningOptions are valid options of a banning daemon that writes own
// and watches the logs watch.
func banningOptions(dir, own string, watch []string) Options {
	cfg := jail.DefaultConfig()
	cfg.IgnoreSelf = false
	return Options{StateDir: dir, Jail: cfg, Datapath: DatapathOptions{Interfaces: []string{"lo"}},
		Listener: &listener.Config{}, Fail2banLog: own, WatchLogs: watch}
}
