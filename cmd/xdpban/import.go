package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/banset"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/daemon"
	"github.com/xdpban/xdpban/internal/f2bdb"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// importChunk is how many bans one request to the daemon carries (some
// 1.5 MB, well inside control.MaxRequest), and importInFlight how many
// are sent before the first answer: the daemon puts the next chunks in
// the map and the jail while it stores one, and stores those together.
const (
	importChunk    = 25000
	importInFlight = 4
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "ban what xdpban export (or a fail2ban database) lists, in one batch",
		ArgsUsage: "FILE|- | --fail2ban-db DB --jail JAIL",
		Description: "Reads the JSON lines of xdpban export from FILE, or from stdin with -. Every\n" +
			"line is checked before anything is banned. Bans already over are skipped, and\n" +
			"so are those that ignoreip covers; the others keep their end and ban count\n" +
			"(bantime.increment goes on from it). Through the daemon when it runs, as one\n" +
			"batch per 25,000 bans without a log line or hook per ban; otherwise into the\n" +
			"pinned map and the store in --state-dir.\n\n" +
			"With --fail2ban-db it reads fail2ban's database instead (dbfile in\n" +
			"fail2ban.conf, usually /var/lib/fail2ban/fail2ban.sqlite3) and takes the bans\n" +
			"of --jail that are in force, with their remaining time and bancount, so a\n" +
			"host moves from fail2ban's firewall bans to XDP without letting anyone back\n" +
			"in. fail2ban may keep running: the database is opened read-only.",
		Flags: []cli.Flag{configFlag(), pinDirFlag(), controlSocketFlag(), stateDirFlag(), configIgnoreIPFlag(),
			&cli.StringFlag{Name: "fail2ban-db", Usage: "read the current bans from fail2ban's SQLite database `DB`"},
			&cli.StringFlag{Name: "jail", Usage: "the fail2ban `JAIL` whose bans --fail2ban-db takes"},
		},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			var bans []jail.Ban
			var err error
			if db := c.String("fail2ban-db"); db != "" {
				if err := exactArgs(c, 0, "no file with --fail2ban-db"); err != nil {
					return err
				}
				if c.String("jail") == "" {
					return fmt.Errorf("import: --fail2ban-db needs --jail, the fail2ban jail to take the bans of")
				}
				bans, err = fail2banBans(db, c.String("jail"))
			} else {
				if err := exactArgs(c, 1, "one file, or - for stdin"); err != nil {
					return err
				}
				bans, err = readBanLines(c.Args().First(), os.Stdin)
			}
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			start := time.Now()
			n, err := importBans(c, bans)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			fmt.Fprintf(c.App.Writer, "imported %d of %d bans in %s\n", n, len(bans), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

// fail2banBans reads the bans of jail in force in fail2ban's database.
func fail2banBans(db, jailName string) ([]jail.Ban, error) {
	f2b, err := f2bdb.CurrentBans(db, jailName, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]jail.Ban, 0, len(f2b))
	for _, b := range f2b {
		p, err := xdp.ParseTarget(b.Addr)
		if err != nil {
			return nil, fmt.Errorf("fail2ban database %s: ban of %w", db, err)
		}
		out = append(out, jail.Ban{Prefix: p, Start: b.Start, End: b.End, Origin: "fail2ban", Count: b.Count})
	}
	return out, nil
}

func importBans(c *cli.Context, bans []jail.Ban) (int, error) {
	socket := c.String("control-socket")
	// Ask once whether a daemon answers, then send the chunks, several in
	// flight.
	if _, up, err := askDaemon(socket, control.Request{Cmd: control.CmdImport}); err != nil {
		return 0, err
	} else if !up {
		return importDirect(c, bans)
	}
	type result struct {
		n   int
		err error
	}
	var (
		results  = make(chan result, len(bans)/importChunk+1)
		inFlight = make(chan struct{}, importInFlight)
		sent     int
	)
	for len(bans) > 0 {
		chunk := bans[:min(len(bans), importChunk)]
		bans = bans[len(chunk):]
		inFlight <- struct{}{}
		sent++
		go func() {
			defer func() { <-inFlight }()
			packed, err := control.PackBans(chunk)
			if err != nil {
				results <- result{err: err}
				return
			}
			resp, err := control.Call(socket, control.Request{Cmd: control.CmdImport, Packed: packed})
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{n: resp.Count}
		}()
	}
	n := 0
	var errs []error
	for range sent {
		r := <-results
		n += r.n
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%w (%d bans in force)", errs[0], n)
	}
	return n, nil
}

// importDirect writes bans into the pinned map and the store when no
// daemon runs; the daemon adopts them when it starts.
func importDirect(c *cli.Context, bans []jail.Ban) (int, error) {
	ignore, err := savedIgnoreList(c.String("state-dir"), c.StringSlice("ignoreip"))
	if err != nil {
		return 0, err
	}
	stored, err := banset.ImportPinned(c.String("pin-dir"), daemon.ImportedBans(bans, time.Now()), ignore)
	if err != nil {
		return len(stored), err
	}
	s, err := openStore(c.String("state-dir"))
	if err != nil {
		return len(stored), fmt.Errorf("bans in force, counts not stored: %w", err)
	}
	defer s.Close()
	return len(stored), s.ImportBans(stored)
}
