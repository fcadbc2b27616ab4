package f2blog

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/event"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/testutil"
)

// parity runs a real fail2ban-server (shipped filter and jail, the given
// jail settings, an action that does nothing) and xdpban's tailer and jail
// with the same settings on the same log, so a test can compare what each
// counted and banned.
type parity struct {
	t   *testing.T
	f2b *testutil.Fail2ban
	w   *Writer
	j   *jail.Jail
}

// nopEnforcer bans nothing; the jail's own list is what is compared.
type nopEnforcer struct{}

func (nopEnforcer) Ban(jail.Ban) (netip.Prefix, error) { return netip.Prefix{}, nil }
func (nopEnforcer) Unban(netip.Prefix) error           { return nil }

func newParity(t *testing.T, settings string, cfg jail.Config) *parity {
	needFail2ban(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "os4x.log")
	p := &parity{t: t}
	var err error
	p.f2b, err = testutil.NewFail2ban(dir, "../../deploy/fail2ban", map[string]string{
		"jail.d/zz-test.local":    "[os4x]\nlogpath = " + log + "\naction = nop\n" + settings,
		"action.d/nop.conf":       "[Definition]\nactionban = true\nactionunban = true\n",
		"jail.d/zz-dbpurge.local": "[DEFAULT]\ndbpurgeage = 1d\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.w, err = OpenWriter(log, TimeEnd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.w.Close() })
	if err := p.f2b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.f2b.Stop)

	cfg.SelfAddrs = func() []netip.Addr { return nil }
	if p.j, err = jail.New(cfg, nopEnforcer{}); err != nil {
		t.Fatal(err)
	}
	tl, err := NewTailer(log, filepath.Join(dir, "state"), TailOptions{FindTime: cfg.FindTime, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The daemon expires bans every second; so does fail2ban.
		expire := time.NewTicker(100 * time.Millisecond)
		defer expire.Stop()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-expire.C:
					p.j.Expire()
				}
			}
		}()
		tl.Run(ctx, func(ev event.Failure) { p.j.Fail(ev) }, func(err error) { t.Error(err) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// fail writes a failure of addr (as spelled) dated at.
func (p *parity) fail(addr string, at time.Time) {
	p.t.Helper()
	line := "TLS error 167772359 during connect try from " + addr + ": peer did not return a certificate. [" + at.Format(timeLayout) + "]"
	if err := p.w.WriteLine(line); err != nil {
		p.t.Fatal(err)
	}
}

var foundRE = regexp.MustCompile(`\[os4x\] Found \S+ - `)

// settle waits until both have counted total failures: fail2ban's filter
// logs each, and its "Total failed" would not do, as it adds the extra
// weight of repeat offenders. Lines either side skips (too old, ignored)
// come before a counted one in every test, so they are judged by then.
func (p *parity) settle(total int) {
	p.t.Helper()
	p.waitFor("both count "+strconv.Itoa(total)+" failures", func() bool {
		return len(foundRE.FindAllString(p.f2b.ServerLog(), -1)) == total && p.j.Stats().TotalFailed == uint64(total)
	})
}

// waitFor polls cond; the minute is a failsafe against a hung server.
func (p *parity) waitFor(what string, cond func() bool) {
	p.t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	n, bans, _ := p.f2b.Status()
	p.t.Fatalf("never reached: %s (fail2ban: %d failed, bans %v; xdpban: %+v)\n%s", what, n, bans, p.j.Stats(), p.f2b.ServerLog())
}

// span is a ban as both report it, to the second.
type span struct {
	start, end time.Time
	secs       int64
}

var banTimeRE = regexp.MustCompile(`(\S+) \t(\S+ \S+) \+ (-?\d+) = (\S+ \S+)`)

// f2bBans is fail2ban's ban list with times.
func (p *parity) f2bBans() map[string]span {
	p.t.Helper()
	out, err := p.f2b.Client("get", "os4x", "banip", "--with-time")
	if err != nil {
		p.t.Fatalf("banip --with-time: %v\n%s", err, out)
	}
	bans := map[string]span{}
	for _, m := range banTimeRE.FindAllStringSubmatch(out, -1) {
		start, _ := time.ParseInLocation(time.DateTime, m[2], time.Local)
		end, _ := time.ParseInLocation(time.DateTime, m[4], time.Local)
		secs, _ := strconv.ParseInt(m[3], 10, 64)
		bans[netip.MustParseAddr(m[1]).String()] = span{start, end, secs}
	}
	return bans
}

// xdpBans is the jail's ban list in the same form.
func (p *parity) xdpBans() map[string]span {
	bans := map[string]span{}
	for _, b := range p.j.Bans() {
		bans[b.Prefix.Addr().String()] = span{b.Start, b.End, int64(b.End.Sub(b.Start).Round(time.Second) / time.Second)}
	}
	return bans
}

func keys(m map[string]span) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}

// same checks that both ban exactly want, with the same start and end to
// the second. fail2ban's actions run a moment after its filter counted, so
// it waits (bounded) for them to agree.
func (p *parity) same(want ...string) {
	p.t.Helper()
	sort.Strings(want)
	var diff string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if diff = p.diff(strings.Join(want, " ")); diff == "" {
			return
		}
	}
	p.t.Fatalf("%s\n%s", diff, p.f2b.ServerLog())
}

func (p *parity) diff(want string) string {
	f, x := p.f2bBans(), p.xdpBans()
	if keys(f) != want || keys(x) != want {
		return fmt.Sprintf("banned: fail2ban [%s], xdpban [%s], want [%s]", keys(f), keys(x), want)
	}
	for a, fs := range f {
		xs := x[a]
		if d := fs.end.Sub(xs.end.Truncate(time.Second)).Abs(); d > time.Second || fs.secs != xs.secs {
			return fmt.Sprintf("%s: fail2ban %v + %ds = %v, xdpban %v + %ds = %v", a, fs.start, fs.secs, fs.end, xs.start, xs.secs, xs.end)
		}
	}
	return ""
}

// TestParityDatedLines: maxretry and findtime on dated lines, lines older
// than findtime, ignoreip CIDRs in both families, IPv6 spellings, and
// maxretry failures during a ban pushing its end out.
func TestParityDatedLines(t *testing.T) {
	cfg := jail.DefaultConfig()
	cfg.MaxRetry, cfg.FindTime, cfg.BanTime = 3, 10*time.Minute, time.Hour
	cfg.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("198.18.7.0/24"), netip.MustParsePrefix("2001:db8:7::/48")}
	p := newParity(t, "maxretry = 3\nfindtime = 600\nbantime = 3600\nignoreip = 198.18.7.0/24 2001:db8:7::/48\n", cfg)
	now := time.Now().Truncate(time.Second)
	ago := func(s int) time.Time { return now.Add(-time.Duration(s) * time.Second) }
	for _, s := range []int{700, 690, 680} {
		p.fail("198.18.0.3", ago(s)) // older than findtime: not counted
	}
	p.fail("198.18.0.4", ago(200)) // two: not banned
	p.fail("198.18.0.4", ago(199))
	for _, s := range []int{100, 99, 98} {
		p.fail("198.18.0.1", ago(s))
		p.fail("198.18.7.5", ago(s))    // ignored
		p.fail("2001:db8:7::9", ago(s)) // ignored
	}
	p.fail("2001:db8:9::1", ago(90)) // one address, three spellings
	p.fail("2001:0db8:0009:0000:0000:0000:0000:0001", ago(89))
	p.fail("2001:db8:9:0::1", ago(88))
	p.settle(2 + 3 + 3)
	p.same("198.18.0.1", "2001:db8:9::1")

	// maxretry more while banned: the ban runs to the last + bantime.
	for _, s := range []int{50, 49, 48} {
		p.fail("198.18.0.1", ago(s))
	}
	p.settle(11)
	p.same("198.18.0.1", "2001:db8:9::1")
	if got := p.xdpBans()["198.18.0.1"].end; !got.Equal(ago(48).Add(time.Hour)) {
		t.Errorf("prolonged end %v, want last failure + bantime %v", got, ago(48).Add(time.Hour))
	}
}

// TestParityLiveFailuresDuringBan: in real time, failures during a ban
// that stay below maxretry still count after the unban; and the findtime
// window, where xdpban counts exactly and fail2ban estimates from the
// failure rate (failures at 0, 4 and 9.33 s with findtime 8 s, the same
// proportions as 0, 3 and 7 s with 6 s: fail2ban bans, xdpban does not, as
// the README says).
func TestParityLiveFailuresDuringBan(t *testing.T) {
	cfg := jail.DefaultConfig()
	cfg.MaxRetry, cfg.FindTime, cfg.BanTime = 3, 8*time.Second, 4*time.Second
	p := newParity(t, "maxretry = 3\nfindtime = 8\nbantime = 4\n", cfg)
	const a, b = "198.18.0.1", "198.18.0.2"
	start := time.Now()
	at := func(s float64) time.Time {
		t0 := start.Add(time.Duration(s * float64(time.Second)))
		time.Sleep(time.Until(t0))
		return time.Now()
	}
	p.fail(a, at(0))
	p.fail(a, at(0))
	p.fail(b, at(0))
	p.fail(a, at(0))
	p.settle(4)
	p.same(a)
	p.fail(a, at(1)) // two while banned: counted, no change
	p.fail(a, at(2))
	p.fail(b, at(4))
	p.settle(7)
	p.waitFor("unban of "+a, func() bool { _, fb, _ := p.f2b.Status(); return len(fb) == 0 && len(p.j.Bans()) == 0 })
	p.fail(a, at(5)) // the third within findtime: banned again at once
	p.settle(8)
	p.same(a)
	// Dated 9.33 s even when a loaded machine gets here later: both judge
	// by the line's date, and fail2ban's estimate bans only while the
	// third failure is dated by 10.67 s (2 / t x 8 rounds to 2).
	at(9.33)
	p.fail(b, start.Add(9330*time.Millisecond))
	p.settle(9)
	// fail2ban's actions run a moment after its filter counted.
	var f map[string]span
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if f = p.f2bBans(); f[b] != (span{}) {
			break
		}
	}
	x := p.xdpBans()
	if _, ok := f[b]; !ok {
		t.Errorf("fail2ban did not ban %s for failures at 0, 4 and 9.33 s with findtime 8 s: the README's statement is wrong", b)
	}
	if _, ok := x[b]; ok {
		t.Errorf("xdpban banned %s for failures at 0, 4 and 9.33 s with findtime 8 s: its window is no longer exact", b)
	}
}

// TestParityBantimeIncrement: in real time, a repeat offender's second ban
// is longer by formula and factor capped at maxtime, or by the
// multipliers, and its failures count double (fail2ban's observer), so
// the second ban comes after two.
func TestParityBantimeIncrement(t *testing.T) {
	for _, c := range []struct {
		name, settings string
		set            func(*jail.Config)
		secs           int64
	}{
		{"formula-factor-maxtime", "bantime.factor = 2\nbantime.maxtime = 12\n",
			func(c *jail.Config) { c.Factor, c.MaxTime = 2, 12*time.Second }, 12}, // min(5 * 2^1 * 2, 12)
		{"multipliers", "bantime.multipliers = 1 3\n",
			func(c *jail.Config) { c.Multipliers = []int{1, 3} }, 15}, // 5 * 3
	} {
		t.Run(c.name, func(t *testing.T) {
			// The first ban runs from the failures' second and must be seen
			// by both before it ends: fail2ban bans a moment after it reads
			// the lines, later on a loaded machine, and a 2 s ban was over
			// before a poll saw it.
			cfg := jail.DefaultConfig()
			cfg.MaxRetry, cfg.FindTime, cfg.BanTime, cfg.Increment = 3, time.Minute, 5*time.Second, true
			c.set(&cfg)
			p := newParity(t, "maxretry = 3\nfindtime = 60\nbantime = 5\nbantime.increment = true\n"+c.settings, cfg)
			const a = "198.18.0.1"
			for range 3 {
				p.fail(a, time.Now())
			}
			p.settle(3)
			p.same(a)
			p.waitFor("unban of "+a, func() bool { _, fb, _ := p.f2b.Status(); return len(fb) == 0 && len(p.j.Bans()) == 0 })
			p.fail(a, time.Now())
			p.settle(4)
			p.fail(a, time.Now())
			p.settle(5)
			p.same(a)
			if got := p.xdpBans()[a].secs; got != c.secs {
				t.Errorf("second ban %ds, want %ds", got, c.secs)
			}
		})
	}
}
