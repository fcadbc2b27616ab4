package jail

import (
	"net/netip"
	"slices"
)

// AddIgnore adds p to ignoreip at runtime, as fail2ban-client's
// addignoreip does, and returns the bans in force that now ban an ignored
// address, for the caller to lift with Unban (manual bans too: adding an
// address to ignoreip says its traffic must pass). added is false when p
// was ignored already.
func (j *Jail) AddIgnore(p netip.Prefix) (added bool, covered []netip.Prefix) {
	p = normPrefix(p)
	j.mu.Lock()
	defer j.mu.Unlock()
	if !slices.Contains(j.ignore.prefixes, p) {
		j.ignore.prefixes = append(j.ignore.prefixes, p)
		added = true
	}
	now := j.now()
	j.bans.each(func(b Ban) {
		if b.ActiveAt(now) && b.Prefix.Overlaps(p) {
			covered = append(covered, b.Prefix)
		}
	})
	slices.SortFunc(covered, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	return added, covered
}

// DelIgnore removes p from ignoreip and reports whether it was there.
func (j *Jail) DelIgnore(p netip.Prefix) bool {
	p = normPrefix(p)
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.ignore.prefixes)
	j.ignore.prefixes = slices.DeleteFunc(j.ignore.prefixes, func(q netip.Prefix) bool { return q == p })
	return len(j.ignore.prefixes) != n
}

// IgnoreIP returns ignoreip as it stands (ignoreself not included).
func (j *Jail) IgnoreIP() []netip.Prefix {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.ignore.prefixes)
}
