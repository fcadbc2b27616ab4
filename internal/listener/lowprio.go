package listener

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// lowered is a goroutine locked to its thread while that thread runs at
// SCHED_IDLE: the kernel then runs any ordinary thread (a partner's
// handshake, a forwarded session, the accept loop) before it, the moment
// one wakes. Go has no goroutine priorities; a thread's is the one lever.
type lowered struct {
	tid  int
	prev *unix.SchedAttr
}

// lowerThread locks the calling goroutine to its thread and lowers the
// thread to SCHED_IDLE. On failure the goroutine is left as it was.
func lowerThread() (lowered, bool) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	prev, err := unix.SchedGetAttr(tid, 0)
	if err == nil {
		err = unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
	}
	if err != nil {
		runtime.UnlockOSThread()
		return lowered{}, false
	}
	return lowered{tid: tid, prev: prev}, true
}

// restore gives the thread its old policy back and unlocks the goroutine.
// Leaving SCHED_IDLE needs CAP_SYS_NICE or an RLIMIT_NICE that allows the
// old nice value; without either the goroutine stays locked, so the
// thread dies with it instead of running other goroutines at idle
// priority. It reports whether the goroutine is free again.
func (lw lowered) restore() bool {
	if err := unix.SchedSetAttr(lw.tid, lw.prev, 0); err != nil {
		return false
	}
	runtime.UnlockOSThread()
	return true
}

// canRestorePriority reports whether this process may leave SCHED_IDLE
// again, trying it on a thread of its own that dies if it cannot.
func canRestorePriority() bool {
	ok := make(chan bool)
	go func() {
		lw, lowered := lowerThread()
		if !lowered {
			ok <- false
			return
		}
		// Without restore the goroutine exits locked: its thread is
		// destroyed rather than reused at idle priority.
		ok <- lw.restore()
	}()
	return <-ok
}

// lowerUnknown reports whether unknown sources' handshakes run at idle
// priority: only when a thread can be given its priority back, so no
// thread of the pool stays slow. It is tried once per process.
var lowerUnknown = sync.OnceValue(canRestorePriority)
