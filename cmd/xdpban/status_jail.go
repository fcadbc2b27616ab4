package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// listedPrefix writes a ban as fail2ban-client's "Banned IP list" does:
// a single address bare, a wider prefix in CIDR form.
func listedPrefix(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return shortPrefix(p)
	}
	return s
}

// printJail prints the summary in fail2ban-client's layout and words, so
// people (and their scripts' greps) moving from fail2ban find it familiar.
func printJail(w io.Writer, r *statusReport, now time.Time) {
	d := r.Daemon
	if d == nil {
		fmt.Fprintln(w, "Status for the jail: xdpban (daemon not running: failure counts need it)")
		var banned []string
		for _, b := range r.Bans {
			if !b.Expired {
				banned = append(banned, shortPrefix(b.Prefix))
			}
		}
		fmt.Fprintln(w, "`- Actions")
		fmt.Fprintf(w, "   |- Currently banned:\t%d\n", len(banned))
		fmt.Fprintf(w, "   `- Banned IP list:\t%s\n", strings.Join(banned, " "))
		return
	}
	mode := ""
	if d.LogOnly {
		mode = " (log-only: bans are left to stock fail2ban)"
	}
	fmt.Fprintf(w, "Status for the jail: %s%s, up %s\n", d.Jail, mode, jail.FormatDuration(now.Sub(d.Started)))
	fmt.Fprintln(w, "|- Filter")
	fmt.Fprintf(w, "|  |- Currently failed:\t%d\n", d.Failed.CurrentlyFailed)
	fmt.Fprintf(w, "|  |- Total failed:\t%d\n", d.Failed.TotalFailed)
	fmt.Fprintf(w, "|  `- File list:\t%s\n", strings.Join(d.Files, " "))
	fmt.Fprintln(w, "`- Actions")
	fmt.Fprintf(w, "   |- Currently banned:\t%d\n", d.Failed.CurrentlyBanned)
	fmt.Fprintf(w, "   |- Total banned:\t%d\n", d.Failed.TotalBanned)
	banned := make([]string, 0, len(d.Bans))
	for _, b := range d.Bans {
		banned = append(banned, listedPrefix(b.Prefix))
	}
	fmt.Fprintf(w, "   `- Banned IP list:\t%s\n", strings.Join(banned, " "))
}
