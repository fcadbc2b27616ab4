// Package banset is the one owner of the set of bans. Three records of
// it exist: the jail's memory, the pinned BPF ban map (with its counting
// filter) that the kernel enforces while no daemon runs, and the state
// store that outlives a reboot. A Set holds the map and the store, and
// its methods are the only way to change bans; the jail, which decides
// them, talks to it as its Enforcer (the map) and its History (the
// store), always in the order it decided them.
//
// # Reconciling at start
//
// Restore reconciles the store with the map once, in one straight line:
// reconcile, hand what holds to the jail (jail.Adopt), give the kernel
// the bans it lacks in one batch, and make the store match.
//
//   - While the machine stays up, the pinned map is the truth. A ban in the
//     map that the store lacks was made while the daemon was down (or its
//     store write was lost): it is adopted, keeping the store's record if
//     there is one, otherwise as origin "restored". A ban in the store but
//     not in the map was deleted (`xdpban unban` without the daemon) or
//     expired in the kernel: it is dropped.
//   - After a reboot the map is created fresh and empty, so the store is
//     the truth: every stored ban whose end is still ahead is kept and
//     written back to the kernel with its remaining time.
//   - Expired bans are dropped on both sides, and so are bans that
//     ignoreip or ignoreself now covers, manual ones too (the map loses
//     them as well).
//
// # While running
//
// A ban goes into the map first (the ban latency is that write), then
// into the store. When the map is full, the ban that ends soonest is
// evicted (never a permanent one) and the jail is told, so that a flood
// of new attackers cannot stop new bans; an LRU map would evict silently
// instead. The sweep removes entries that ended in the kernel, only if
// they are still ended when removed.
package banset
