package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EOnBanNotification: the --on-ban command runs after a ban made from
// real failed handshakes, with the ban and the three log lines in its
// environment (what a mail or ticket script needs).
func TestE2EOnBanNotification(t *testing.T) {
	out := filepath.Join(t.TempDir(), "notified")
	l := startTLSLab(t, "--maxretry", "3", "--bantime", "1h",
		"--on-ban", `{ echo "ip=$XDPBAN_IP bantime=$XDPBAN_BANTIME count=$XDPBAN_BANCOUNT"; echo "$XDPBAN_MATCHES"; } > `+out+`.tmp && mv `+out+`.tmp `+out)
	for i := uint64(1); i <= 3; i++ {
		l.fail(t, l.ClientV4, i)
	}
	l.banned(t, l.ClientV4.String()+"/32")
	var got string
	waitUntil(t, "the on-ban command", func() bool {
		b, err := os.ReadFile(out)
		got = string(b)
		return err == nil
	})
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if lines[0] != "ip="+l.ClientV4.String()+" bantime=3600 count=1" {
		t.Errorf("on-ban saw %q", lines[0])
	}
	if matches := lines[1:]; len(matches) != 3 || !strings.Contains(matches[2], "during connect try from "+l.ClientV4.String()+": ") {
		t.Errorf("on-ban matches: %q, want the attacker's three log lines", matches)
	}
}
