package audit

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// background moves the calling goroutine (the writer) to a thread of its
// own and lowers that thread's priority by writerNice (nice(2) semantics,
// at most 19). The group-commit writer works in bursts (a batch of records,
// now and then a WAL checkpoint): at normal priority a burst takes a core
// from requests in flight and shows in their tail latency; lowered, the
// kernel runs it in the gaps. pace restores the process's priority while
// a backlog builds.
//
// The goroutine keeps the thread to the end (it never unlocks), so the
// runtime ends the thread with it (or, for the main thread, parks it for
// good) rather than handing it, still lowered, to other goroutines. A
// failure leaves the thread at normal priority: that only costs latency,
// so it is not an error. It returns nil when the priority is unknown.
func background() *priority {
	runtime.LockOSThread()
	tid := unix.Gettid()
	// getpriority(2) returns 20 - nice on Linux.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return nil
	}
	p := &priority{tid: tid, base: 20 - prio, set: func(tid, n int) error {
		return unix.Setpriority(unix.PRIO_PROCESS, tid, n)
	}}
	if p.set(tid, p.lowered()) == nil {
		p.low = true
	}
	return p
}
