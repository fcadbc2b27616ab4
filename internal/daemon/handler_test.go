package daemon

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/jail"
)

// failingEnforcer is a map that refuses every ban and holds none to unban.
type failingEnforcer struct{}

func (failingEnforcer) Ban(jail.Ban) (netip.Prefix, error) {
	return netip.Prefix{}, errors.New("map write failed")
}
func (failingEnforcer) Unban(netip.Prefix) error { return jail.ErrNotBanned }

// TestControlErrorsNameTheTargetOnce: the jail's errors already say
// "ban P: ..."; the control socket hands them on as they are, so the
// operator reads each prefix once.
func TestControlErrorsNameTheTargetOnce(t *testing.T) {
	d := pathDaemon(t, mapEnforcer{make(chan netip.Prefix, 4)}, jail.NewMemHistory(), nil)
	for _, c := range []struct{ cmd, target, want string }{
		{"ban", "127.0.0.9", "ban 127.0.0.9/32: refused: it covers an ignoreip address (127.0.0.0/8)"},
	} {
		r := d.handleControl(control.Request{Cmd: c.cmd, Target: c.target})
		if r.Error != c.want {
			t.Errorf("%s %s: error %q, want %q", c.cmd, c.target, r.Error, c.want)
		}
	}
	d = pathDaemon(t, failingEnforcer{}, jail.NewMemHistory(), nil)
	r := d.handleControl(control.Request{Cmd: "unban", Target: "198.18.0.99"})
	if want := "unban 198.18.0.99/32: " + jail.ErrNotBanned.Error(); r.Error != want {
		t.Errorf("unban of an address not banned: error %q, want %q", r.Error, want)
	}
	r = d.handleControl(control.Request{Cmd: "ban", Target: "198.18.0.7"})
	if want := "ban 198.18.0.7/32: map write failed"; r.Error != want {
		t.Errorf("ban into a failing map: error %q, want %q", r.Error, want)
	}
	if strings.Count(r.Error, "198.18.0.7") != 1 {
		t.Errorf("ban into a failing map names the prefix more than once: %q", r.Error)
	}
}

// TestStatusCountsTheBansItLists: a ban past its end that the jail has
// not swept yet (the kernel already lets the source through) is neither
// listed nor counted as currently banned; the demo once showed
// "Currently banned: 1" over an empty list.
func TestStatusCountsTheBansItLists(t *testing.T) {
	now := time.Now()
	d := pathDaemon(t, mapEnforcer{make(chan netip.Prefix, 4)}, jail.NewMemHistory(), nil)
	j, err := jail.New(d.o.Jail, mapEnforcer{make(chan netip.Prefix, 4)}, jail.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	d.jail = j
	for a, d := range map[string]time.Duration{"198.18.0.7/32": 5 * time.Second, "198.18.0.8/32": time.Minute} {
		if _, err := j.BanManual(netip.MustParsePrefix(a), d); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(10 * time.Second) // past the first ban's end, not the second's
	s := d.status()
	if len(s.Bans) != 1 || s.Failed.CurrentlyBanned != len(s.Bans) {
		t.Errorf("status lists %d bans and counts %d currently banned, want 1 and 1", len(s.Bans), s.Failed.CurrentlyBanned)
	}
}
