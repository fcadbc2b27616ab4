// Package state keeps xdpban's bans and ban history across daemon
// restarts and reboots, in one bbolt file under the state directory.
//
// bbolt was picked over SQLite because it is a single file with ACID
// transactions that stays readable after a crash at any moment (pages are
// copy-on-write and the meta page is switched last), it is pure Go (no
// cgo, one static binary), and etcd maintains it.
//
// The store holds what the daemon needs after a reboot; internal/banset
// owns it together with the pinned map, and decides at start which of the
// two holds (see its package documentation).
//
// A corrupt or unreadable store file is moved aside to
// <name>.corrupt-<timestamp> and a fresh store is opened, with a Warning
// for the daemon to log: the bans in the pinned map still hold, so
// starting with an empty store beats a crash loop.
package state
