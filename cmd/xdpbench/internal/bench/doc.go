// Package bench measures xdpban against the ways fail2ban and netfilter
// ban, as ratios taken in the same run on the same machine: per-packet
// program cost (BPF_PROG_TEST_RUN), drop throughput between network
// namespaces, the cost of applying bans, the listener under attack, and the
// jail and state Go benchmarks. cmd/xdpbench drives it; nothing here is a
// test and no timing ever decides a test's outcome.
//
// Everything a benchmark creates (namespaces named xbench<pid>-*, pins
// under /sys/fs/bpf/xbench<pid>-*) is removed when it ends, also on
// failure, and Sweep removes leftovers of a run that no longer runs.
package bench
