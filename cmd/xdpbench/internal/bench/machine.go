package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Machine says where the figures were measured.
type Machine struct {
	Host     string `json:"host"`
	Kernel   string `json:"kernel"`
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Date     string `json:"date"`
	Go       string `json:"go"`
}

// DescribeMachine reads uname and /proc/cpuinfo.
func DescribeMachine() Machine {
	var u unix.Utsname
	unix.Uname(&u)
	m := Machine{
		Host:   unix.ByteSliceToString(u.Nodename[:]),
		Kernel: unix.ByteSliceToString(u.Release[:]),
		CPUs:   runtime.NumCPU(),
		Date:   time.Now().UTC().Format("2006-01-02"),
		Go:     runtime.Version(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
