package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

const deployFail2ban = "../../deploy/fail2ban"

// fail2ban is testutil's fail2ban-server with test-failing helpers: the
// shipped filter and jail, the jail's logpath and action overridden by a
// jail.d/*.local file as an operator would.
type fail2ban struct {
	*testutil.Fail2ban
}

func startFail2ban(t *testing.T, logpath, action string, extraFiles map[string]string) *fail2ban {
	t.Helper()
	if err := testutil.NeedFail2ban(); err != nil {
		t.Skip(err)
	}
	files := map[string]string{"jail.d/zz-test.local": "[os4x]\nlogpath = " + logpath + "\naction = " + action + "\n"}
	for name, body := range extraFiles {
		files[name] = body
	}
	f, err := testutil.NewFail2ban(t.TempDir(), deployFail2ban, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return &fail2ban{f}
}

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployFail2ban, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func (f *fail2ban) failed() int {
	n, _, _ := f.Status()
	return n
}

func (f *fail2ban) waitFailed(t *testing.T, n int) {
	t.Helper()
	f.waitUntil(t, fmt.Sprintf("fail2ban total failed %d", n), func() bool { return f.failed() >= n })
	if got := f.failed(); got != n {
		t.Fatalf("fail2ban total failed %d, want %d", got, n)
	}
}

func (f *fail2ban) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("fail2ban never reached: %s\n%s", what, f.ServerLog())
}

// startLogOnly runs `xdpban run --log-only` with the TLS listener in the
// server namespace, writing the fail2ban log; it bans nothing itself.
func startLogOnly(t *testing.T, lab *testutil.Lab, n node, p *e2ePKI, log string) *daemonProc {
	t.Helper()
	args := append([]string{"run", "--log-only", "--fail2ban-log", log, "--state-dir", n.state}, n.flags()...)
	args = append(args, p.listenerFlags(fmt.Sprintf("[::]:%d", tlsPort), echoBackend(t, lab))...)
	return launch(t, lab, n, func(r *statusReport) bool { return r.Daemon != nil && r.Daemon.LogOnly }, args...)
}

// TestE2EFail2banBansFromLogOnlyLog: xdpban --log-only writes the log
// from real handshakes; stock fail2ban with the shipped filter and jail
// bans the attacker on exactly the third failure.
func TestE2EFail2banBansFromLogOnlyLog(t *testing.T) {
	lab := testutil.NewLab(t)
	n, p := newNode(t), newE2EPKI(t)
	log := filepath.Join(t.TempDir(), "tls.log")
	startLogOnly(t, lab, n, p, log)
	bans := filepath.Join(t.TempDir(), "bans")
	f := startFail2ban(t, log, "testfile", map[string]string{
		"action.d/testfile.conf": "[Definition]\nactionban = echo \"ban <ip>\" >> " + bans + "\nactionunban =\n",
	})

	attacker := lab.ClientV4.String()
	for i := 1; i <= 2; i++ {
		if !attack(t, lab, lab.ClientV4, lab.ServerV4) {
			t.Fatal("log-only xdpban dropped a SYN")
		}
		waitFailed(t, lab, n, uint64(i))
		f.waitFailed(t, i)
	}
	if f.Banned(attacker) {
		t.Fatal("fail2ban banned after 2 failures")
	}
	if !attack(t, lab, lab.ClientV4, lab.ServerV4) {
		t.Fatal("log-only xdpban dropped a SYN")
	}
	f.waitUntil(t, "fail2ban bans "+attacker, func() bool { return f.Banned(attacker) })
	if got := f.failed(); got != 3 {
		t.Errorf("fail2ban total failed %d, want 3", got)
	}
	// fail2ban lists the ban before its action has run.
	f.waitUntil(t, "fail2ban's ban action", func() bool { data, _ := os.ReadFile(bans); return len(data) > 0 })
	if data, _ := os.ReadFile(bans); string(data) != "ban "+attacker+"\n" {
		t.Errorf("action calls: %q", data)
	}
	if n := len(failureLines(t, log)); n != 3 {
		t.Errorf("log has %d lines, want 3", n)
	}
	// Log-only bans nothing itself, and partners are served.
	if !connects(t, lab, lab.ClientV4, lab.ServerV4, tlsPort) {
		t.Error("log-only xdpban dropped the attacker itself")
	}
	if got, err := partnerEcho(t, lab, p, lab.ClientAlt4, lab.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner through the log-only listener: %q, %v", got, err)
	}
	r := mustStatus(t, lab, n)
	if !r.Daemon.LogOnly || r.Loaded || len(r.Daemon.Bans) != 0 {
		t.Errorf("log-only status: %+v", r)
	}
}

// TestE2EFail2banActionBansIntoXDP: the same chain with the shipped
// action.d/xdpban.conf: fail2ban's ban runs `xdpban ban <ip> --duration
// <bantime>` into a running XDP daemon (--listen ""), whose program then
// drops the attacker's SYNs; fail2ban's unban lifts it.
func TestE2EFail2banActionBansIntoXDP(t *testing.T) {
	lab := testutil.NewLab(t)
	logOnly, enforcer, p := newNode(t), newNode(t), newE2EPKI(t)
	log := filepath.Join(t.TempDir(), "tls.log")
	startLogOnly(t, lab, logOnly, p, log)
	startDaemon(t, lab, enforcer)

	// The action's <xdpban> is this build, pointed at the test's pins and
	// socket, as a packager's wrapper would be.
	wrapper := filepath.Join(t.TempDir(), "xdpban-wrapper")
	script := fmt.Sprintf("#!/bin/sh\nexec %s \"$@\" --pin-dir %s --control-socket %s\n", binary, enforcer.pin, enforcer.sock)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := startFail2ban(t, log, "xdpban[xdpban=\""+wrapper+"\"]", map[string]string{
		"action.d/xdpban.conf": readDeploy(t, "action.d/xdpban.conf"),
	})

	attacker := lab.ClientV4.String()
	for i := 1; i <= 3; i++ {
		if !attack(t, lab, lab.ClientV4, lab.ServerV4) {
			t.Fatalf("attempt %d dropped before fail2ban banned", i)
		}
		waitFailed(t, lab, logOnly, uint64(i))
	}
	f.waitUntil(t, "fail2ban bans "+attacker, func() bool { return f.Banned(attacker) })
	start, end := waitBanned(t, lab, enforcer, attacker+"/32")
	r := mustStatus(t, lab, enforcer)
	if end.Sub(start) != time.Hour {
		t.Errorf("ban length %v, want the jail's bantime 1h", end.Sub(start))
	}
	if _, ok := mapBan(r, attacker+"/32"); !ok {
		t.Errorf("ban not in the pinned map: %+v", r.Bans)
	}
	if connects(t, lab, lab.ClientV4, lab.ServerV4, tlsPort) {
		t.Error("attacker's SYN got through after fail2ban banned through xdpban")
	}
	if got, err := partnerEcho(t, lab, p, lab.ClientAlt4, lab.ServerV4); err != nil || got != "partner data\n" {
		t.Errorf("partner after the ban: %q, %v", got, err)
	}

	if out, err := f.Client("set", "os4x", "unbanip", attacker); err != nil {
		t.Fatalf("fail2ban unban: %v\n%s", err, out)
	}
	waitUntil(t, "fail2ban's unban to reach XDP", func() bool {
		return connects(t, lab, lab.ClientV4, lab.ServerV4, tlsPort)
	})
	if r := mustStatus(t, lab, enforcer); len(r.Bans) != 0 || len(r.Daemon.Bans) != 0 {
		t.Errorf("bans left after fail2ban's unban: %+v %+v", r.Bans, r.Daemon.Bans)
	}
}
