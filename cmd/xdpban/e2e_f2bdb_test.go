package main

import (
	"database/sql"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/f2bdb"
	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EImportFromFail2banDatabase: a real fail2ban-server bans an
// address twice (bantime.increment), and xdpban import --fail2ban-db
// takes the ban in force over into a running daemon with its remaining
// time and its ban count, while fail2ban keeps running; a ban fail2ban
// already ended is not taken.
func TestE2EImportFromFail2banDatabase(t *testing.T) {
	testutil.RequireRoot(t)
	log := filepath.Join(t.TempDir(), "os4x.log")
	appendLine(t, log, "")
	f := startFail2ban(t, log, "testfile", map[string]string{
		"action.d/testfile.conf": "[Definition]\nactionban = true\nactionunban = true\n",
		// The first ban lasts 5 s, the second an hour.
		"jail.d/zz-increment.local": "[os4x]\nbantime = 5\nbantime.increment = true\nbantime.multipliers = 1 720\n",
	})
	attacker := netip.MustParseAddr("198.18.10.3")
	offend := func() {
		for range 3 {
			appendLine(t, log, os4xLine(attacker))
		}
	}
	// fail2ban lists a ban at once, but its observer thread writes it to
	// the database later, and the increment of the next ban is counted
	// from the database: each ban is waited for there. A short ban may
	// also be over before a poll of fail2ban's list sees it.
	db := filepath.Join(f.Dir, "f2b.sqlite3")
	offend()
	f.waitUntil(t, "the first ban in fail2ban's database", func() bool { return f2bBanCount(db, attacker) == 1 })
	f.waitUntil(t, "the first ban to end", func() bool { return !f.Banned(attacker.String()) })
	offend()
	f.waitUntil(t, "the second ban in fail2ban's database", func() bool {
		bans, err := f2bdb.CurrentBans(db, "os4x", time.Now())
		return err == nil && len(bans) == 1 && bans[0].Count == 2
	})

	lab := testutil.NewLab(t)
	n := newNode(t)
	startDaemon(t, lab, n)
	out := must(t, append([]string{"import", "--fail2ban-db", db, "--jail", "os4x"}, n.flags()...)...)
	if !strings.HasPrefix(out, "imported 1 of 1 bans") {
		t.Fatalf("import from fail2ban: %q", out)
	}
	_, banned, _ := xb(t, append([]string{"banned", attacker.String(), "--json"}, n.flags()...)...)
	m := regexp.MustCompile(`"remaining_seconds":(\d+)`).FindStringSubmatch(banned)
	if m == nil {
		t.Fatalf("not banned after the import: %q", banned)
	}
	if left, _ := time.ParseDuration(m[1] + "s"); left < 50*time.Minute || left > time.Hour {
		t.Errorf("remaining %v after import; fail2ban's ban has some 60m left", left)
	}
	if h := must(t, append([]string{"history", attacker.String()}, n.flags()...)...); !strings.Contains(h, "Ban count:\t2") {
		t.Errorf("fail2ban's bancount 2 was not carried over:\n%s", h)
	}
	code, _, errb := xb(t, append([]string{"import", "--fail2ban-db", db, "--jail", "sshd"}, n.flags()...)...)
	if code != 1 || !strings.Contains(errb, `no jail "sshd" (it has: os4x)`) {
		t.Errorf("import of a jail that is not there: exit %d, %q", code, errb)
	}
}

// f2bBanCount is the ban count fail2ban's database holds for a in the
// os4x jail, 0 before its first ban is written.
func f2bBanCount(db string, a netip.Addr) int {
	conn, err := sql.Open("sqlite3", (&url.URL{Scheme: "file", Path: db, RawQuery: "mode=ro"}).String())
	if err != nil {
		return 0
	}
	defer conn.Close()
	n := 0
	conn.QueryRow(`SELECT bancount FROM bips WHERE jail = 'os4x' AND ip = ?`, a.String()).Scan(&n)
	return n
}
