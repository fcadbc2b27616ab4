package jail

import (
	"net/netip"
	"time"
)

// Enforcer puts the jail's bans in force: the ban set (internal/banset)
// in the daemon. The jail calls it outside its lock, in the order it
// decided the bans and unbans.
type Enforcer interface {
	// Ban puts b in force, or moves the end of the ban of b.Prefix already
	// in force. When full, an enforcer may make room by lifting the ban
	// that ends soonest; evicted then names it (otherwise it is invalid).
	Ban(b Ban) (evicted netip.Prefix, err error)
	// Unban lifts the ban on p, or fails with an error wrapping
	// ErrNotBanned when it holds none.
	Unban(p netip.Prefix) error
}

// History remembers bans across restarts: which are in force, and how
// often an address was banned before, for bantime.increment. The ban set
// (over the state store) implements it; without one the jail keeps the
// counts in memory. The jail calls it outside its lock, in order, after
// the Enforcer.
type History interface {
	// BanCount returns how many bans of p were recorded at or after since.
	BanCount(p netip.Prefix, since time.Time) (int, error)
	// RecordBan remembers that b started and is in force.
	RecordBan(b Ban) error
	// KeepBans records the ends of bans in force that changed without
	// being new bans for BanCount: failures while banned prolonged them,
	// or another source (CrowdSec) decided them. One write for all.
	KeepBans(bs []Ban) error
	// ForgetBan records that b is no longer in force (lifted, ended or
	// evicted); it still counts for BanCount.
	ForgetBan(b Ban) error
}

// Origin says who made a ban.
type Origin string

const (
	// OriginJail is a ban the jail made after maxretry failures.
	OriginJail Origin = "jail"
	// OriginManual is an explicit `xdpban ban`.
	OriginManual Origin = "manual"
	// OriginRestored is a ban found in the kernel map that the store did
	// not know, adopted at start.
	OriginRestored Origin = "restored"
	// OriginCrowdSec is a decision pulled from a CrowdSec Local API.
	OriginCrowdSec Origin = "crowdsec"
)

// Ban is one active ban.
type Ban struct {
	Prefix netip.Prefix
	Start  time.Time
	// End is when the ban lapses; zero means permanent.
	End    time.Time
	Origin Origin
	// Count is this address's ban number: 1 for its first ban within
	// dbpurgeage, 2 for the second, and so on.
	Count int
}

// same reports whether b and o are the same ban, as the jail stores it.
func (b Ban) same(o Ban) bool {
	return b.Prefix == o.Prefix && b.Start.Equal(o.Start) && b.End.Equal(o.End) && b.Origin == o.Origin && b.Count == o.Count
}

// Permanent reports whether the ban never lapses.
func (b Ban) Permanent() bool { return b.End.IsZero() }

// ActiveAt reports whether the ban still holds at now.
func (b Ban) ActiveAt(now time.Time) bool { return b.End.IsZero() || b.End.After(now) }

// Stats are the jail's counters, named as fail2ban-client status names
// them. The one type for them: `xdpban status --json` prints it as
// "counts", and the metrics read it.
type Stats struct {
	CurrentlyFailed int    `json:"currently_failed"` // addresses (or IPv6 prefixes) with failures being tracked
	TotalFailed     uint64 `json:"total_failed"`     // failures counted since start
	CurrentlyBanned int    `json:"currently_banned"`
	TotalBanned     uint64 `json:"total_banned"`
	// DroppedTracked counts failure records dropped because MaxTracked
	// addresses were already tracked.
	DroppedTracked uint64 `json:"dropped_tracked"`
	// Ignored counts failures from ignoreip or ignoreself addresses.
	Ignored uint64 `json:"ignored"`
	// BanErrors counts bans decided on failures that the enforcer could
	// not put in force (the failures are kept: the next one tries again).
	BanErrors uint64 `json:"ban_errors"`
	// Refused counts bans not made because their prefix covers an
	// ignoreip or ignoreself address (see IgnoreList.CheckBan): decided
	// on failures, asked for by hand, or found at restore.
	Refused uint64 `json:"refused"`
	// UnbanErrors counts failed unbans of expired bans, which Expire
	// cannot return; the kernel stops enforcing them at End regardless.
	UnbanErrors uint64 `json:"unban_errors"`
	// Evicted counts bans the enforcer lifted to make room for new ones.
	Evicted uint64 `json:"evicted"`
}

// UnixNano writes a ban's time for a record: the zero time (no start, a
// permanent ban's end) as 0.
func UnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNano reads a time UnixNano wrote, in UTC; 0 is the zero time.
func FromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
