package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
)

// maxHooks bounds the notification commands running at once; more are
// dropped (and logged) rather than queued, so a ban wave cannot pile up
// processes. Hooks never run on the ban path: the ban is in force first.
const maxHooks = 4

// maxMatches bounds the log lines handed to a notification.
const maxMatches = 50

// hooks runs --on-ban / --on-unban, the counterpart of fail2ban's
// action_mwl mail: the command gets the ban in its environment.
type hooks struct {
	mu             sync.Mutex // guards the commands and timeout: a reload sets them
	onBan, onUnban string
	timeout        time.Duration
	sem            chan struct{}
	log            *slog.Logger
	logs           []string // fail2ban-format logs to take XDPBAN_MATCHES from
	failed         func(kind string)
}

func newHooks(onBan, onUnban string, timeout time.Duration, log *slog.Logger) *hooks {
	return &hooks{onBan: onBan, onUnban: onUnban, timeout: timeout, sem: make(chan struct{}, maxHooks), log: log}
}

// banEnv names follow fail2ban's action tags (<ip>, <bantime>, <bancount>,
// <matches>), so existing mail scripts port easily. Every value is ours or
// escaped by the log writer: no client text reaches the shell unquoted,
// and the command reads them from the environment, never from its argv.
func banEnv(action string, b jail.Ban, lines []string, now time.Time) []string {
	bantime := "-1"
	if !b.Permanent() {
		bantime = strconv.FormatInt(int64(b.End.Sub(b.Start).Seconds()), 10)
	}
	return []string{
		"XDPBAN_ACTION=" + action,
		"XDPBAN_IP=" + b.Prefix.Addr().String(),
		"XDPBAN_PREFIX=" + b.Prefix.String(),
		"XDPBAN_BANTIME=" + bantime,
		"XDPBAN_BANCOUNT=" + strconv.Itoa(b.Count),
		"XDPBAN_ORIGIN=" + string(b.Origin),
		"XDPBAN_TIME=" + now.UTC().Format(time.RFC3339),
		"XDPBAN_MATCHES=" + strings.Join(lines, "\n"),
	}
}

func (h *hooks) ban(b jail.Ban, fs []event.Failure) {
	onBan, _, _ := h.commands()
	if onBan == "" {
		return
	}
	now := time.Now()
	h.run("on-ban", onBan, func() []string {
		// Read off the ban path, in the hook's goroutine. The failure
		// that completed the count is written to the log only after the
		// ban (which must not wait for the disk), so it may be missing.
		// The jail keeps no lines per address (that would cost memory
		// for every tracked address), so the logs are the record.
		lines := f2blog.MatchingLines(h.logs, b.Prefix.Addr(), maxMatches)
		for _, f := range fs {
			logged := slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSuffix(l, "\r") == f.Line })
			if f.Line != "" && !logged {
				lines = append(lines, f.Line)
			}
		}
		if len(lines) > maxMatches {
			lines = lines[len(lines)-maxMatches:]
		}
		return banEnv("ban", b, lines, now)
	})
}

func (h *hooks) unban(b jail.Ban) {
	if _, onUnban, _ := h.commands(); onUnban != "" {
		env := banEnv("unban", b, nil, time.Now())
		h.run("on-unban", onUnban, func() []string { return env })
	}
}

func (h *hooks) run(kind, command string, env func() []string) {
	select {
	case h.sem <- struct{}{}:
	default:
		h.log.Warn("notification dropped: too many still running", "hook", kind, "max", maxHooks)
		h.fail(kind)
		return
	}
	go func() {
		defer func() { <-h.sem }()
		_, _, timeout := h.commands()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		cmd.Env = append(os.Environ(), env()...)
		// On timeout end the whole process group, not just the shell:
		// a child left behind would hold the output pipe open forever.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		if err != nil {
			h.log.Error("notification command failed", "hook", kind, "err", err, "output", strings.TrimSpace(string(out)))
			h.fail(kind)
		}
	}()
}

func (h *hooks) fail(kind string) {
	if h.failed != nil {
		h.failed(kind)
	}
}

func (h *hooks) commands() (onBan, onUnban string, timeout time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.onBan, h.onUnban, h.timeout
}

// set changes the commands for the hooks that start from now on.
func (h *hooks) set(onBan, onUnban string, timeout time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onBan, h.onUnban, h.timeout = onBan, onUnban, timeout
}
