package main

import (
	"bufio"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EReloadOnSIGHUP is logrotate's and a certificate renewal's path:
// SIGHUP makes the daemon read certificate, key and CA bundle again and
// reopen its fail2ban log, while a partner's established session goes on.
func TestE2EReloadOnSIGHUP(t *testing.T) {
	l := startTLSLab(t)
	old := l.pki
	// A session opened before the reload.
	conn, err := dialTLS(t, l.Lab, l.ClientAlt4, l.ServerV4, old.PartnerConfig(l.ServerV4.String()))
	if err != nil {
		t.Fatalf("partner before reload: %v", err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)

	// A new CA and server certificate replace the files in place, and the
	// log is rotated by rename.
	fresh, err := testutil.NewPKI(t.TempDir(), l.ServerV4.AsSlice())
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{fresh.CAFile: old.CAFile, fresh.CertFile: old.CertFile, fresh.KeyFile: old.KeyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(l.log, l.log+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reload to be logged", func() bool {
		return strings.Contains(l.d.stderr.String(), "certificates, CA bundle and CRL reloaded")
	})

	// The established session still works.
	if _, err := conn.Write([]byte("still here\n")); err != nil {
		t.Fatalf("established session after reload: %v", err)
	}
	if got, err := r.ReadString('\n'); err != nil || got != "still here\n" {
		t.Fatalf("established session after reload: %q, %v", got, err)
	}
	// New sessions are verified against the new CA only.
	if c, err := dialTLS(t, l.Lab, l.ClientAlt4, l.ServerV4, fresh.PartnerConfig(l.ServerV4.String())); err != nil {
		t.Errorf("partner of the new CA refused after reload: %v", err)
	} else {
		c.Close()
	}
	stale := old.PartnerConfig(l.ServerV4.String())
	stale.InsecureSkipVerify = true // the client trusts anyone; the server must not
	if c, err := dialTLS(t, l.Lab, l.ClientV4, l.ServerV4, stale); err == nil {
		c.Write([]byte("x\n"))
		if b, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			t.Errorf("partner of the replaced CA served after reload: %q", b)
		}
		c.Close()
	}
	// Its failure went into the reopened log, not the rotated one.
	waitUntil(t, "a line in the reopened log", func() bool { return len(failureLines(t, l.log)) == 1 })
	if lines := failureLines(t, l.log); !strings.Contains(lines[0], "from "+l.ClientV4.String()+": ") {
		t.Errorf("reopened log: %q", lines)
	}
	if n := len(failureLines(t, l.log+".1")); n != 0 {
		t.Errorf("%d lines went to the rotated log", n)
	}
}
