// Package state keeps xdpban's bans and ban history across daemon
// restarts and reboots, in one bbolt file under the state directory.
//
// bbolt was picked over SQLite because it is a single file with ACID
// transactions that stays readable after a crash at any moment (pages are
// copy-on-write and the meta page is switched last), it is pure Go (no
// cgo, one static binary), and etcd maintains it.
//
// # Reconciling the store with the kernel at start
//
// Two records of the bans exist: this store, and the pinned BPF ban map,
// which the kernel keeps enforcing while no daemon runs. The daemon
// reconciles them once at start with Reconcile, then passes the result to
// jail.Restore, which also re-checks ignoreip:
//
//   - While the machine stays up, the pinned map is the truth. A ban in the
//     map that the store lacks was made while the daemon was down (or its
//     store write was lost): it is adopted, keeping the store's record if
//     there is one, otherwise as origin "restored". A ban in the store but
//     not in the map was deleted (`xdpban unban` without the daemon) or
//     expired in the kernel: it is dropped.
//   - After a reboot the map is created fresh and empty (kernelFresh), so
//     the store is the truth: every stored ban whose end is still ahead is
//     kept and written back to the kernel with its remaining time.
//   - Expired bans are dropped on both sides.
//
// A corrupt or unreadable store file is moved aside to
// <name>.corrupt-<timestamp> and a fresh store is opened, with a Warning
// for the daemon to log: the bans in the pinned map still hold, so
// starting with an empty store beats a crash loop.
package state
