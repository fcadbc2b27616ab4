package daemon

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/xdpban/xdpban/internal/jail"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOneLinePerFailure: a counted failure is logged at info, an ignored
// one at debug, as fail2ban logs "Found" and "Ignore".
func TestOneLinePerFailure(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		d := pathDaemon(t, mapEnforcer{make(chan netip.Prefix, 4)}, jail.NewMemHistory(), nil)
		var out syncBuffer
		d.log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
		if added, _ := d.jail.AddIgnore(netip.MustParsePrefix("198.18.0.0/24")); !added {
			t.Fatal("AddIgnore")
		}
		d.fail(failureFrom("198.18.1.5"))
		d.fail(failureFrom("198.18.0.5"))
		got := out.String()
		if strings.Count(got, "\n") != map[slog.Level]int{slog.LevelInfo: 1, slog.LevelDebug: 2}[level] {
			t.Errorf("level %v: %q", level, got)
		}
		if !strings.Contains(got, `level=INFO msg="found failure" addr=198.18.1.5`) {
			t.Errorf("level %v: no info line for the counted failure: %q", level, got)
		}
		if level == slog.LevelDebug && !strings.Contains(got, `level=DEBUG msg="ignore failure by ignoreip" addr=198.18.0.5`) {
			t.Errorf("no debug line for the ignored failure: %q", got)
		}
	}
}
