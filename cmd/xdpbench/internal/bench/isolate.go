package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuSplit keeps a load generator and the daemon it measures on separate
// CPUs. In one VM the attacker's thread is woken by the daemon's own
// reply (the TLS alert) on the daemon's CPU and, busy probing, held that
// CPU for a scheduler tick or more while the daemon waited runnable
// behind it and the other CPU idled: milliseconds of "ban latency" that
// were the bench's own. A remote attacker costs the server no CPU of its
// own; here the bench process keeps to the last CPU and the daemon gets
// the others.
type cpuSplit struct {
	all      unix.CPUSet
	attacker unix.CPUSet
	daemon   string // the daemon's CPUs as a taskset list
}

// splitCPUs returns the split, or nil on a one-CPU machine.
func splitCPUs() (*cpuSplit, error) {
	var s cpuSplit
	if err := unix.SchedGetaffinity(0, &s.all); err != nil {
		return nil, fmt.Errorf("CPU affinity: %w", err)
	}
	var cpus []int
	for c := range 1024 {
		if s.all.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil, nil
	}
	s.attacker.Set(cpus[len(cpus)-1])
	var list []string
	for _, c := range cpus[:len(cpus)-1] {
		list = append(list, strconv.Itoa(c))
	}
	s.daemon = strings.Join(list, ",")
	return &s, nil
}

// String names the split for the report.
func (s *cpuSplit) String() string {
	if s == nil {
		return "one CPU: attacker and daemon share it"
	}
	for c := range 1024 {
		if s.attacker.IsSet(c) {
			return fmt.Sprintf("attacker (the bench process) on CPU %d, daemon on CPU %s", c, s.daemon)
		}
	}
	return ""
}

// daemonCPUs is the taskset list for the daemon; "" without a split.
func (s *cpuSplit) daemonCPUs() string {
	if s == nil {
		return ""
	}
	return s.daemon
}

// pinProcess moves every thread of this process to the attacker's CPU;
// threads created later inherit it from their creator. unpin undoes it.
// Both do nothing without a split.
func (s *cpuSplit) pinProcess() error {
	if s == nil {
		return nil
	}
	return setProcessAffinity(&s.attacker)
}

func (s *cpuSplit) unpin() error {
	if s == nil {
		return nil
	}
	return setProcessAffinity(&s.all)
}

func setProcessAffinity(set *unix.CPUSet) error {
	// Twice: a thread that a thread not yet moved created during the
	// first pass is caught by the second.
	for range 2 {
		tids, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tids {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			// A thread that exited meanwhile is fine.
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("set affinity of thread %d: %w", tid, err)
			}
		}
	}
	return nil
}

// attackerCPUs is the taskset list of the attacker's CPU; "" without a
// split.
func (s *cpuSplit) attackerCPUs() string {
	if s == nil {
		return ""
	}
	for c := range 1024 {
		if s.attacker.IsSet(c) {
			return strconv.Itoa(c)
		}
	}
	return ""
}
