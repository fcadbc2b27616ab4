// Package f2bdb reads the bans fail2ban keeps in its SQLite database
// (dbfile, /var/lib/fail2ban/fail2ban.sqlite3), so `xdpban import
// --fail2ban-db` carries a jail's current bans over with their remaining
// time and ban counts. It reads with a pure-Go SQLite (no cgo), read-only:
// fail2ban-server may keep running.
package f2bdb

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
)

// Ban is one of fail2ban's current bans.
type Ban struct {
	Addr  string    // as fail2ban wrote it: an address, or a CIDR
	Start time.Time // timeofban
	End   time.Time // zero: permanent (bantime -1)
	Count int       // bancount, what bantime.increment goes by
}

// CurrentBans returns the bans of jail that are in force at now, as
// fail2ban itself restores them at start: the bips table (fail2ban 0.11
// and later) holds each address's latest ban with its count.
func CurrentBans(path, jail string, now time.Time) ([]Ban, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite3", u.String())
	if err != nil {
		return nil, fmt.Errorf("open fail2ban database %s: %w", path, err)
	}
	defer db.Close()
	if err := knownJail(db, jail); err != nil {
		return nil, fmt.Errorf("fail2ban database %s: %w", path, err)
	}
	rows, err := db.Query(`SELECT ip, timeofban, bantime, bancount FROM bips
		WHERE jail = ? AND (timeofban + bantime > ? OR bantime <= -1) ORDER BY ip`, jail, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("read fail2ban database %s: %w (fail2ban 0.11 or later writes the bips table)", path, err)
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var (
			ip            string
			start, length int64
			count         int
		)
		if err := rows.Scan(&ip, &start, &length, &count); err != nil {
			return nil, fmt.Errorf("read fail2ban database %s: %w", path, err)
		}
		b := Ban{Addr: ip, Start: time.Unix(start, 0), Count: max(count, 1)}
		if length >= 0 {
			b.End = b.Start.Add(time.Duration(length) * time.Second)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read fail2ban database %s: %w", path, err)
	}
	return out, nil
}

// knownJail names the jails there are when jail is not one of them: a
// typo must not import nothing in silence.
func knownJail(db *sql.DB, jail string) error {
	rows, err := db.Query(`SELECT name FROM jails ORDER BY name`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "not a database") {
			return errors.New("not a fail2ban database (no jails table)")
		}
		return err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		if n == jail {
			return nil
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return fmt.Errorf("no jail %q (it has: %s)", jail, strings.Join(names, ", "))
}
