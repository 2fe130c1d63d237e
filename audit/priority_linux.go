package audit

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// writerNice is how much less CPU priority the writer's thread gets than
// the rest of the process.
const writerNice = 10

// background moves the calling goroutine to a thread of its own and lowers
// that thread's priority by writerNice (nice(2) semantics, at most 19). The
// group-commit writer works in bursts (a batch of records, now and then a
// WAL checkpoint): at normal priority a burst takes a core from requests
// in flight and shows in their tail latency, at lower priority the kernel
// runs it in the gaps. It never gets less than its share of an otherwise
// idle core, so a writer with work to do still keeps up.
//
// The goroutine keeps the thread to the end (it never unlocks), so the
// runtime ends the thread with it (or, for the main thread, parks it for
// good) rather than handing it, still lowered, to other goroutines. A failure leaves the thread at normal priority: it only
// costs latency, so it is not an error. It returns the thread's id.
func background() int {
	runtime.LockOSThread()
	tid := unix.Gettid()
	// getpriority(2) returns 20 - nice on Linux.
	if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil {
		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, min(20-prio+writerNice, 19))
	}
	return tid
}
