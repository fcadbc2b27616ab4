package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/xdp"
)

// TestNeedsRestart: what a reload applies passes;
// every setting only a restart applies is named.
func TestNeedsRestart(t *testing.T) {
	base := func() Options {
		return Options{
			Datapath: DatapathOptions{Interfaces: []string{"eth0"}, Config: xdp.Config{Ports: xdp.DefaultPorts, IPv6Prefix: 128}},
			Jail:     jail.DefaultConfig(),
			Listener: &listener.Config{ListenAddr: ":6619", CertFile: "/c", MaxHandshakes: 10},
			StateDir: "/var/lib/xdpban", ControlSock: "/run/xdpban/control.sock",
		}
	}
	a := base()
	b := base()
	b.Jail.MaxRetry = 9
	b.OnBan, b.HookTimeout = "mail", time.Minute
	b.Listener.OnFailure = nil // filled by the daemon, never compared
	b.Listener.MaxHandshakes, b.Listener.CertFile = 20, "/renewed"
	b.Datapath.Config.Ports = xdp.Ports{All: true}
	b.LogLevel = slog.LevelDebug
	if got := needsRestart(a, b); got != "" {
		t.Errorf("jail, hook, listener limits and files, ports and log level changes: needsRestart = %q, want none", got)
	}
	for want, change := range map[string]func(*Options){
		"ipv6-prefix": func(o *Options) { o.Datapath.Config.IPv6Prefix = 64 },
		"iface":       func(o *Options) { o.Datapath.Interfaces = []string{"eth1"} },
		"listen":      func(o *Options) { o.Listener.ListenAddr = ":7000" },
		"listen ":     func(o *Options) { o.Listener = nil },
		"crowdsec":    func(o *Options) { o.CrowdSec.URL = "http://127.0.0.1:8080/" },
		"state-dir":   func(o *Options) { o.StateDir = "/tmp" },
	} {
		b := base()
		change(&b)
		if got := needsRestart(a, b); !strings.HasPrefix(got, strings.TrimSpace(want)) {
			t.Errorf("a %s change: needsRestart = %q", want, got)
		}
	}
}
