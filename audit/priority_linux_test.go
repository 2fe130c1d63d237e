package audit

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
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
	data, err := os.ReadFile(stat)
	must(t, err)
	// The command name (field 2) may hold spaces; fields resume after ')'.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if got, _ := strconv.Atoi(fields[16]); got != want {
		t.Fatalf("the writer's thread runs at nice %d, want %d", got, want)
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
