package banset

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

func TestReconcile(t *testing.T) {
	now := t0.Add(time.Hour)
	ban := func(p string, end time.Duration, o jail.Origin) jail.Ban {
		b := jail.Ban{Prefix: pfx(p), Start: t0, Origin: o, Count: 2}
		if end != 0 {
			b.End = now.Add(end)
		}
		return b
	}
	kban := func(p string, end time.Duration) jail.Ban {
		b := jail.Ban{Prefix: pfx(p)}
		if end != 0 {
			b.End = now.Add(end)
		}
		return b
	}
	tests := []struct {
		name         string
		store        []jail.Ban
		kernel       []jail.Ban
		fresh        bool
		keep, toKern []string // "prefix origin end-offset"
		unban        []string
	}{
		{"in both: store's record, kernel's end",
			[]jail.Ban{ban("198.18.0.1/32", time.Hour, jail.OriginJail)},
			[]jail.Ban{kban("198.18.0.1/32", 30*time.Minute)}, false,
			[]string{"198.18.0.1/32 jail 30m0s"}, nil, nil},
		{"only in kernel: adopted as restored",
			nil, []jail.Ban{kban("2001:db8::/64", 0)}, false,
			[]string{"2001:db8::/64 restored permanent"}, nil, nil},
		{"only in store, machine up: deleted or expired in the kernel, dropped",
			[]jail.Ban{ban("198.18.0.2/32", time.Hour, jail.OriginManual)}, nil, false,
			nil, nil, nil},
		{"only in store, after reboot: back into the kernel",
			[]jail.Ban{ban("198.18.0.2/32", time.Hour, jail.OriginManual), ban("198.18.0.3/32", 0, jail.OriginJail)}, nil, true,
			[]string{"198.18.0.2/32 manual 1h0m0s", "198.18.0.3/32 jail permanent"},
			[]string{"198.18.0.2/32 manual 1h0m0s", "198.18.0.3/32 jail permanent"}, nil},
		{"expired in store after reboot: dropped",
			[]jail.Ban{ban("198.18.0.4/32", -time.Second, jail.OriginJail), ban("198.18.0.5/32", -1, jail.OriginJail)}, nil, true,
			nil, nil, nil},
		{"expired kernel entry: dropped though stored",
			[]jail.Ban{ban("198.18.0.6/32", time.Hour, jail.OriginJail)},
			[]jail.Ban{kban("198.18.0.6/32", -time.Minute)}, false,
			nil, nil, nil},
		{"after reboot with some already in the new map",
			[]jail.Ban{ban("198.18.0.7/32", time.Hour, jail.OriginJail), ban("198.18.0.8/32", time.Hour, jail.OriginJail)},
			[]jail.Ban{kban("198.18.0.7/32", time.Hour)}, true,
			[]string{"198.18.0.7/32 jail 1h0m0s", "198.18.0.8/32 jail 1h0m0s"},
			[]string{"198.18.0.8/32 jail 1h0m0s"}, nil},
		// ignoreip (10.0.0.0/8 here) is re-checked on both sides, except
		// for manual bans; a refused kernel entry leaves the map too.
		{"now ignored, machine up: dropped from the map, manual ones too",
			[]jail.Ban{ban("10.1.1.2/32", time.Hour, jail.OriginManual)},
			[]jail.Ban{kban("10.1.1.1/32", time.Hour), kban("10.1.1.2/32", time.Hour), kban("198.18.0.9/32", time.Hour)}, false,
			[]string{"198.18.0.9/32 restored 1h0m0s"}, nil, []string{"10.1.1.1/32", "10.1.1.2/32"}},
		{"now ignored, after reboot: dropped, manual ones too",
			[]jail.Ban{ban("10.1.1.1/32", time.Hour, jail.OriginJail), ban("10.1.1.2/32", time.Hour, jail.OriginManual),
				ban("2001:db8::/64", 0, jail.OriginRestored)}, nil, true,
			[]string{"2001:db8::/64 restored permanent"},
			[]string{"2001:db8::/64 restored permanent"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reconcile(tt.store, tt.kernel, tt.fresh, now, 128, check)
			if got := describe(r.keep, now); !slices.Equal(got, tt.keep) {
				t.Errorf("keep %q, want %q", got, tt.keep)
			}
			if got := describe(r.toKernel, now); !slices.Equal(got, tt.toKern) {
				t.Errorf("toKernel %q, want %q", got, tt.toKern)
			}
			var unban []string
			for _, p := range r.unban {
				unban = append(unban, p.String())
			}
			if !slices.Equal(unban, tt.unban) {
				t.Errorf("unban %q, want %q", unban, tt.unban)
			}
		})
	}
}

var (
	t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	// ignored is the ignore rule with 10.0.0.0/8 and 2001:db8:50::2 ignored.
	ignored = jail.NewIgnoreList([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:50::2/128")}, nil).CheckBan
)

// check is the ignore rule as Refuser returns it, at no particular time.
func check(p netip.Prefix) error { return ignored(p, time.Time{}) }

var ()

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func describe(bs []jail.Ban, now time.Time) []string {
	var out []string
	for _, b := range bs {
		end := "permanent"
		if !b.End.IsZero() {
			end = b.End.Sub(now).String()
		}
		out = append(out, fmt.Sprintf("%v %s %s", b.Prefix, b.Origin, end))
	}
	slices.SortFunc(out, strings.Compare)
	return out
}

// TestReconcileAsEnforced: a ban stored as one IPv6 address comes back as
// the prefix the map enforces, and is refused, with its reason, when that
// prefix holds an ignored address (a restart once did that silently:
// restored=0 dropped=1).
func TestReconcileAsEnforced(t *testing.T) {
	now := t0
	store := []jail.Ban{
		{Prefix: pfx("2001:db8:50::66/128"), Start: t0, End: t0.Add(time.Hour), Origin: jail.OriginJail, Count: 1},
		{Prefix: pfx("2001:db8:60::66/128"), Start: t0, End: t0.Add(time.Hour), Origin: jail.OriginManual, Count: 1},
	}
	r := reconcile(store, nil, true, now, 64, check)
	if got := describe(r.keep, now); !slices.Equal(got, []string{"2001:db8:60::/64 manual 1h0m0s"}) {
		t.Errorf("keep %q", got)
	}
	if len(r.refused) != 1 || !errors.Is(r.refused[0], jail.ErrCoversIgnored) || !strings.Contains(r.refused[0].Error(), "2001:db8:50::/64") {
		t.Errorf("refused %v, want the /64 holding the ignored address", r.refused)
	}
	// The store forgets both records it held as /128 and holds the kept
	// ban as the map does.
	if fmt.Sprint(r.forget) != "[2001:db8:50::66/128 2001:db8:60::66/128]" {
		t.Errorf("forget %v", r.forget)
	}
	if len(r.save) != 1 || r.save[0].Prefix != pfx("2001:db8:60::/64") {
		t.Errorf("save %v", r.save)
	}
}

// TestFitDropsTheSoonestEnds: after a reboot with more stored bans than
// the map holds, the bans ending soonest go, permanent ones last; the
// kernel's own bans stay.
func TestFitDropsTheSoonestEnds(t *testing.T) {
	now := t0
	ban := func(p string, end time.Duration) jail.Ban {
		b := jail.Ban{Prefix: pfx(p), Start: t0, Origin: jail.OriginJail, Count: 1}
		if end != 0 {
			b.End = now.Add(end)
		}
		return b
	}
	store := []jail.Ban{ban("198.18.0.1/32", 3*time.Hour), ban("198.18.0.2/32", time.Hour), ban("198.18.0.3/32", 0),
		ban("198.18.0.4/32", 2*time.Hour), ban("198.18.0.5/32", 4*time.Hour)}
	kernel := []jail.Ban{ban("198.18.0.9/32", time.Minute)}
	r := reconcile(store, kernel, true, now, 128, func(netip.Prefix) error { return nil })
	if n := r.fit(4); n != 2 {
		t.Fatalf("fit dropped %d, want 2", n)
	}
	want := []string{"198.18.0.1/32 jail 3h0m0s", "198.18.0.3/32 jail permanent", "198.18.0.5/32 jail 4h0m0s", "198.18.0.9/32 restored 1m0s"}
	if got := describe(r.keep, now); !slices.Equal(got, want) {
		t.Errorf("keep %q, want %q", got, want)
	}
	if got := describe(r.toKernel, now); !slices.Equal(got, want[:3]) {
		t.Errorf("toKernel %q, want %q", got, want[:3])
	}
	forget := fmt.Sprint(r.forget)
	if forget != "[198.18.0.2/32 198.18.0.4/32]" {
		t.Errorf("forget %s, want the two ending soonest", forget)
	}
}
