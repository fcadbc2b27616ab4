// Package xdp loads xdpban's XDP program, attaches it to interfaces through
// BPF links, pins the maps and links under one bpffs directory so that
// enforcement outlives the daemon, and reads and writes the ban map.
//
// Ban expiry lives in the map as CLOCK_MONOTONIC nanoseconds, the clock of
// bpf_ktime_get_coarse_ns() (clock.go says why not CLOCK_BOOTTIME); this
// package converts from and to wall time.
package xdp
