// Package sse reads and writes Server-Sent Events as LLM providers stream
// them. The reader keeps each event's exact bytes so an event that no stage
// changes is forwarded byte for byte; the writer flushes every event so the
// client sees it as soon as the upstream sent it.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Event is one server-sent event.
type Event struct {
	// Name is the event: field (e.g. Responses' "response.output_text.delta").
	Name string
	// Data is the data: lines joined with "\n".
	Data []byte
	// ID is the id: field.
	ID string
	// Raw is the event exactly as received, blank line included. A stage that
	// changes the event must set Raw to nil so it is re-encoded.
	Raw []byte
}

// IsComment reports an event with no fields, only comments (keep-alives).
func (e *Event) IsComment() bool { return e.Name == "" && e.Data == nil && e.ID == "" }

// AppendTo appends the wire form of e to b.
func (e *Event) AppendTo(b []byte) []byte {
	if e.Raw != nil {
		return append(b, e.Raw...)
	}
	if e.ID != "" {
		b = append(b, "id: "...)
		b = append(b, e.ID...)
		b = append(b, '\n')
	}
	if e.Name != "" {
		b = append(b, "event: "...)
		b = append(b, e.Name...)
		b = append(b, '\n')
	}
	data := e.Data
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(b, '\n')
}

// ErrTooLarge means one event exceeded the reader's limit.
var ErrTooLarge = errors.New("sse: event too large")

// Reader parses a stream of events. Lines may end in "\n" or "\r\n".
type Reader struct {
	br  *bufio.Reader
	max int
	raw []byte
	// The first data line's place in raw: a one-line event (nearly all of
	// them) gets its Data as a slice of its Raw rather than a second copy.
	dataLines          int
	dataStart, dataEnd int
}

// NewReader reads events of at most max bytes each from r. Close gives its
// buffer back for the next stream's reader.
func NewReader(r io.Reader, max int) *Reader {
	br := readBufs.Get().(*bufio.Reader)
	br.Reset(r)
	return &Reader{br: br, max: max}
}

// readBufs holds the 4 KiB read buffers of finished streams: a stream's
// largest allocation, one per stream otherwise.
var readBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// Close releases the reader's buffer. Events already returned stay valid
// (they own their bytes); the reader must not be used again.
func (r *Reader) Close() {
	if r.br != nil {
		r.br.Reset(nil)
		readBufs.Put(r.br)
		r.br = nil
	}
}

// Next returns the next event. At the end of the stream it returns io.EOF;
// a final event without its blank line is still returned first, since
// some upstreams close without one.
func (r *Reader) Next() (Event, error) {
	var ev Event
	r.raw = r.raw[:0]
	r.dataLines = 0
	seen := false
	for {
		line, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole, within the limit.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				if len(r.raw)+len(full) > r.max {
					return Event{}, ErrTooLarge
				}
				line, err = r.br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) > 0 {
			if len(r.raw)+len(line) > r.max {
				return Event{}, ErrTooLarge
			}
			r.raw = append(r.raw, line...)
			content := bytes.TrimRight(line, "\r\n")
			if len(content) == 0 {
				if seen {
					ev.Raw = bytes.Clone(r.raw)
					r.finish(&ev)
					return ev, nil
				}
				r.raw = r.raw[:0] // stray blank line between events
			} else {
				seen = true
				r.field(&ev, content, len(r.raw)-len(line))
			}
		}
		if err != nil {
			if err == io.EOF && seen {
				// Complete the event's wire form so it can be forwarded.
				if !bytes.HasSuffix(r.raw, []byte("\n")) {
					r.raw = append(r.raw, '\n')
				}
				ev.Raw = append(bytes.Clone(r.raw), '\n')
				r.finish(&ev)
				return ev, nil
			}
			return Event{}, err
		}
	}
}

// finish points a one-line event's Data into its Raw.
func (r *Reader) finish(ev *Event) {
	if r.dataLines == 1 {
		ev.Data = ev.Raw[r.dataStart:r.dataEnd:r.dataEnd]
	}
}

// field reads one line; off is where the line starts in r.raw.
func (r *Reader) field(ev *Event, line []byte, off int) {
	if line[0] == ':' {
		return // comment
	}
	name, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "data":
		r.dataLines++
		switch r.dataLines {
		case 1:
			r.dataStart = off + len(line) - len(value)
			r.dataEnd = r.dataStart + len(value)
		case 2:
			first := r.raw[r.dataStart:r.dataEnd]
			ev.Data = make([]byte, 0, len(first)+1+len(value))
			ev.Data = append(append(append(ev.Data, first...), '\n'), value...)
		default:
			ev.Data = append(append(ev.Data, '\n'), value...)
		}
	case "event":
		ev.Name = string(value)
	case "id":
		ev.ID = string(value)
	}
}

// Writer writes events to an HTTP response, flushing each one.
type Writer struct {
	w   io.Writer
	rc  *http.ResponseController
	buf []byte
	// N counts bytes written.
	N int64
	// Hash, when set, sees every byte written (the audit's answer hash).
	Hash io.Writer
}

// NewWriter writes to w, flushing through its ResponseController.
func NewWriter(w http.ResponseWriter) *Writer {
	return &Writer{w: w, rc: http.NewResponseController(w)}
}

// Ready reports whether a whole event is already buffered, so Next will
// not wait on the network.
func (r *Reader) Ready() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}

// Buffer writes one event without flushing.
func (w *Writer) Buffer(ev *Event) error {
	w.buf = ev.AppendTo(w.buf[:0])
	if w.Hash != nil {
		w.Hash.Write(w.buf)
	}
	n, err := w.w.Write(w.buf)
	w.N += int64(n)
	if err != nil {
		return fmt.Errorf("sse write: %w", err)
	}
	return nil
}

// Flush sends what was buffered.
func (w *Writer) Flush() error {
	if err := w.rc.Flush(); err != nil {
		return fmt.Errorf("sse flush: %w", err)
	}
	return nil
}

// Write sends one event and flushes it.
func (w *Writer) Write(ev *Event) error {
	if err := w.Buffer(ev); err != nil {
		return err
	}
	return w.Flush()
}

// Data builds an event carrying data only.
func Data(data []byte) Event { return Event{Data: data} }

// Named builds an event with a name and data.
func Named(name string, data []byte) Event { return Event{Name: name, Data: data} }
