package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/xdpban/xdpban/internal/lab"
)

// daemon is a process we started: `xdpban run` in the lab's server side,
// or fail2ban-server (no pins).
type daemon struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	pinDir string
}

// startDaemon runs `xdpban run` in the server namespace with its own
// state, socket and pins under dir (pins under our bpffs prefix, so Sweep
// finds them after a crash), the lab PKI, and extra flags. It returns once
// the listener accepts connections from the client side.
func startDaemon(ctx context.Context, bin, dir string, p *pair, pki *lab.PKI, backend string, extra ...string) (*daemon, error) {
	return startDaemonOn(ctx, "", bin, dir, p, pki, backend, extra...)
}

// startDaemonOn is startDaemon with the daemon confined to the CPUs in
// cpus (a taskset list; "" leaves it free).
func startDaemonOn(ctx context.Context, cpus, bin, dir string, p *pair, pki *lab.PKI, backend string, extra ...string) (*daemon, error) {
	pinDir, err := newPinDir()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--net=/run/netns/" + p.S, "--", bin, "run"},
		pki.ListenerFlags(netip.AddrPortFrom(labServer, labPort).String(), backend)...)
	args = append(args,
		"--fail2ban-log", daemonLog(dir), "--maxretry", "3", "--findtime", "10m", "--bantime", "1h",
		"--state-dir", filepath.Join(dir, "state"), "--control-socket", filepath.Join(dir, "control.sock"),
		"--pin-dir", pinDir, "--metrics", "")
	args = append(append([]string{"nsenter"}, args...), extra...)
	if cpus != "" {
		args = append([]string{"taskset", "--cpu-list", cpus}, args...)
	}
	d, err := startProcess(exec.Command(args[0], args[1:]...))
	if err != nil {
		return nil, fmt.Errorf("start xdpban run: %w", err)
	}
	d.pinDir = pinDir
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-d.done:
			return nil, fmt.Errorf("xdpban run exited: %s", d.stderr.String())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		default:
		}
		if ok, _ := probe(p.A, labPartner, 200*time.Millisecond); ok && (slices.Contains(extra, "--log-only") || d.attached(ctx, p)) {
			return d, nil
		}
	}
	d.stop()
	return nil, fmt.Errorf("xdpban run not listening after 15 s: %s", d.stderr.String())
}

// startProcess starts cmd with its stderr kept; done closes when it exits.
func startProcess(cmd *exec.Cmd) (*daemon, error) {
	d := &daemon{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &d.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// daemonLog is the fail2ban log a daemon started with dir writes.
func daemonLog(dir string) string { return filepath.Join(dir, "os4x.log") }

// stop ends the daemon by its PID and removes its pins.
func (d *daemon) stop() {
	select {
	case <-d.done:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	os.RemoveAll(d.pinDir)
}

// attached reports whether the daemon's program is on the server's veth
// and all its maps are pinned and readable, as `xdpban ban` opens them:
// the maps are pinned one by one while it loads, so the ban map alone
// appearing is not enough for a caller that then opens them.
func (d *daemon) attached(ctx context.Context, p *pair) bool {
	out, err := shOut(ctx, p.S, nil, "ip", "link", "show", p.SIf)
	if err != nil || !strings.Contains(out, "xdp") {
		return false
	}
	m, err := openBans(d.pinDir)
	if err != nil {
		return false
	}
	m.Close()
	return true
}
