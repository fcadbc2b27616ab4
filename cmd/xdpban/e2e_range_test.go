package main

import (
	"syscall"
	"testing"
)

// TestE2ERangeBan: `xdpban ban` takes a range; the daemon enforces it at
// XDP for every address in it, keeps it in its store across a SIGKILL and
// restart, shows it in status, and lifts it on unban.
func TestE2ERangeBan(t *testing.T) {
	l := startTLSLab(t, "--maxretry", "3", "--findtime", "10m", "--bantime", "1h")
	// 198.18.0.2/31 holds both lab clients (.2 and .3), not the server (.1).
	const r = "198.18.0.2/31"
	xdpban(t, append([]string{"ban", r, "--duration", "1h"}, l.n.flags()...)...)
	if l.reachable(t, l.ClientV4) || l.reachable(t, l.ClientAlt4) {
		t.Fatal("an address in the banned range still reaches the service")
	}
	st := mustStatus(t, l.Lab, l.n)
	if _, _, origin, ok := daemonBan(st, r); !ok || origin != "manual" {
		t.Errorf("daemon bans %+v, want %s from manual", st.Daemon.Bans, r)
	}
	if b, ok := mapBan(st, r); !ok || b.RemainingSeconds <= 3500 {
		t.Errorf("pinned bans %+v, want %s with about 1h left", st.Bans, r)
	}

	l.d.kill(syscall.SIGKILL)
	l.d = startDaemon(t, l.Lab, l.n, l.flags...)
	if _, _, _, ok := daemonBan(mustStatus(t, l.Lab, l.n), r); !ok {
		t.Fatalf("range ban lost across a SIGKILL and restart")
	}
	if l.reachable(t, l.ClientAlt4) {
		t.Error("range ban not enforced after the restart")
	}
	xdpban(t, append([]string{"unban", r}, l.n.flags()...)...)
	if !l.reachable(t, l.ClientV4) || !l.reachable(t, l.ClientAlt4) {
		t.Error("unban of the range did not lift it")
	}
}
