package audit

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/crisphq/crisp/store/storetest"
)

// TestWriterRunsBelowRequests checks that the writer runs on a thread of
// its own, writerNice below the process's priority, and that the thread
// ends with the Log rather than serve other goroutines at that priority.
func TestWriterRunsBelowRequests(t *testing.T) {
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	must(t, err)
	want := min(20-prio+writerNice, 19)

	l := openLog(t, storetest.OpenSQLite(t), testOptions())
	tid := 0
	for deadline := time.Now().Add(10 * time.Second); tid == 0; time.Sleep(time.Millisecond) {
		if tid = int(l.thread.Load()); tid == 0 && time.Now().After(deadline) {
			t.Fatal("the writer reported no thread within 10 s of Open")
		}
	}
	stat := "/proc/self/task/" + strconv.Itoa(tid) + "/stat"
	if got := statField(stat, 19); got != strconv.Itoa(want) { // field 19: nice
		t.Fatalf("the writer's thread runs at nice %q, want %d", got, want)
	}

	must(t, l.Close())
	if tid == unix.Getpid() {
		// The main thread cannot end: the runtime parks it for good
		// instead, which also keeps it from other goroutines.
		return
	}
	// The runtime ends a locked thread after its goroutine returned, which
	// is after Close saw the writer finish: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, err := os.Stat(stat)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer's thread %d still runs 10 s after Close (%v)", tid, err)
		}
	}
}

// TestProcessStart reads this process's start time, which tells a pid
// reused by a new process from the writer that had it.
func TestProcessStart(t *testing.T) {
	start := processStart(os.Getpid())
	if _, err := strconv.ParseUint(start, 10, 64); err != nil {
		t.Fatalf("processStart = %q, want clock ticks since boot", start)
	}
	if got := statField("/proc/self/stat", 1); got != "" {
		t.Fatalf("field 1 (before the command name) = %q, want none", got)
	}
	if got := statField("/proc/self/stat", 99); got != "" {
		t.Fatalf("field 99 = %q, want none", got)
	}
}
