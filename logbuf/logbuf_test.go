package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe bytes.Buffer that counts writes.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	err    error
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesStayWholeAndInOrder(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Millisecond, 256)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "g%d line %04d %s\n", g, i, strings.Repeat("x", i%40))
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d lines, want 2000", len(lines))
	}
	next := map[string]int{}
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s line %d", &g, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if out.writes >= 2000 {
		t.Fatalf("%d writes for 2000 lines: nothing was gathered", out.writes)
	}
}

func TestFlushesOnItsOwn(t *testing.T) {
	var out syncBuffer
	w := New(&out, 5*time.Millisecond, 1<<16)
	defer w.Close()
	fmt.Fprintln(w, "hello")
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "hello\n" {
		if time.Now().After(deadline) {
			t.Fatal("the line never went out")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFullBufferFlushesInline(t *testing.T) {
	var out syncBuffer
	w := New(&out, time.Hour, 16)
	defer w.Close()
	fmt.Fprint(w, "0123456789\n")
	fmt.Fprint(w, "abcdefghij\n") // does not fit: the first goes out now
	if got := out.String(); got != "0123456789\n" {
		t.Fatalf("out %q", got)
	}
	long := strings.Repeat("y", 100) + "\n" // longer than the buffer: still kept whole
	fmt.Fprint(w, long)
	w.Flush()
	if got := out.String(); got != "0123456789\nabcdefghij\n"+long {
		t.Fatalf("out %q", got)
	}
}

func TestWriteReportsAFailedFlush(t *testing.T) {
	out := &syncBuffer{err: errors.New("disk full")}
	w := New(out, time.Hour, 8)
	defer w.Close()
	if _, err := w.Write([]byte("12345\n")); err != nil {
		t.Fatalf("gathering failed: %v", err)
	}
	if _, err := w.Write([]byte("67890\n")); err == nil {
		t.Fatal("a full buffer that could not be written reported no error")
	}
}
