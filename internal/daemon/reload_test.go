package daemon

import (
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/xdp"
)

// TestNeedsRestart: what the jail and the hooks take at a reload passes;
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
	if got := needsRestart(a, b); got != "" {
		t.Errorf("jail and hook changes: needsRestart = %q, want none", got)
	}
	for want, change := range map[string]func(*Options){
		"ports":       func(o *Options) { o.Datapath.Config.Ports = xdp.Ports{All: true} },
		"ipv6-prefix": func(o *Options) { o.Datapath.Config.IPv6Prefix = 64 },
		"iface":       func(o *Options) { o.Datapath.Interfaces = []string{"eth1"} },
		"listener":    func(o *Options) { o.Listener.MaxHandshakes = 20 },
		"crowdsec":    func(o *Options) { o.CrowdSec.URL = "http://127.0.0.1:8080/" },
		"state-dir":   func(o *Options) { o.StateDir = "/tmp" },
	} {
		b := base()
		change(&b)
		if got := needsRestart(a, b); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("a %s change: needsRestart = %q", want, got)
		}
	}
}
