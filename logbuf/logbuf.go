// Package logbuf takes the process log's write(2) off the request path:
// lines are gathered in memory and written out together every few
// milliseconds, or as soon as a buffer's worth has gathered.
//
// A request's log line is written after its answer, but on the goroutine
// that serves it: an unbuffered write to a pipe or a file delays the end of
// every response by a system call, and under load makes one call per line.
// The price is that a crash can lose the last interval's lines; what must
// survive a crash is the audit trail, which has its own journal.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Writer is safe for concurrent use. Each Write is kept whole (zerolog
// writes one line per call), so lines never interleave.
type Writer struct {
	out   io.Writer
	limit int

	mu  sync.Mutex // guards buf
	buf []byte

	wmu   sync.Mutex // serialises writes to out, in order
	spare []byte     // guarded by wmu

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New starts a Writer that flushes to out every interval (and whenever
// limit bytes have gathered).
func New(out io.Writer, interval time.Duration, limit int) *Writer {
	w := &Writer{out: out, limit: limit, buf: make([]byte, 0, limit), spare: make([]byte, 0, limit),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

// Write gathers p. It returns an error only from a flush it had to make
// because the buffer was full.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	full := len(w.buf)+len(p) > w.limit && len(w.buf) > 0
	if !full {
		w.buf = append(w.buf, p...)
	}
	w.mu.Unlock()
	if !full {
		return len(p), nil
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return w.Write(p)
}

// Flush writes out what has gathered.
func (w *Writer) Flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	out := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	var err error
	if len(out) > 0 {
		_, err = w.out.Write(out)
	}
	if cap(out) > 4*w.limit {
		out = make([]byte, 0, w.limit) // one huge line must not pin its buffer
	}
	w.spare = out[:0]
	return err
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush() // the next line's Write reports a lasting failure
		case <-w.stop:
			return
		}
	}
}

// Close stops the flusher and writes out the rest. Writes after Close
// still gather, and go out on the next Flush.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	return w.Flush()
}
