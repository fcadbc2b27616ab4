package main

import (
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestE2EBanOnABannedAddressProlongs: `xdpban ban` on an address banned
// already (fail2ban's actionprolong) sets the later end, and keeps a ban
// that ends later, with the daemon and without it.
func TestE2EBanOnABannedAddressProlongs(t *testing.T) {
	lab := testutil.NewLab(t)
	n := newNode(t)
	d := startDaemon(t, lab, n)
	a := lab.ClientV4.String()
	ban := func(dur string) string {
		return xdpban(t, append([]string{"ban", a, "--duration", dur}, n.flags()...)...)
	}
	end := func() time.Time {
		r := mustStatus(t, lab, n)
		for _, b := range r.Bans {
			if b.Prefix.String() == a+"/32" {
				return b.Until
			}
		}
		t.Fatalf("%s not in the map: %+v", a, r.Bans)
		return time.Time{}
	}
	for _, phase := range []string{"daemon", "pins"} {
		if phase == "pins" {
			d.kill(9)
			xdpban(t, append([]string{"unban", a}, n.flags()...)...)
		}
		ban("10m")
		first := end()
		if out := ban("2h"); !strings.HasPrefix(out, "banned ") || end().Sub(first) < 100*time.Minute {
			t.Fatalf("%s: prolong to 2h: %q, end %v after %v", phase, out, end(), first)
		}
		longer := end()
		if out := ban("1m"); !strings.Contains(out, "kept") || end().Sub(longer).Abs() > time.Second {
			t.Fatalf("%s: a shorter ban: %q, end %v, want %v kept", phase, out, end(), longer)
		}
	}
}
