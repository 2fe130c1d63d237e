package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Event // Raw ignored
		wantErr error
	}{
		{"data only", "data: {\"a\":1}\n\n", []Event{{Data: []byte(`{"a":1}`)}}, nil},
		{"named", "event: response.created\ndata: {}\n\n", []Event{{Name: "response.created", Data: []byte("{}")}}, nil},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []Event{{Data: []byte("x")}, {Data: []byte("y")}}, nil},
		{"multi-line data", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}, nil},
		{"no space", "data:x\n\n", []Event{{Data: []byte("x")}}, nil},
		{"comment keep-alive", ": ping\n\ndata: [DONE]\n\n", []Event{{}, {Data: []byte("[DONE]")}}, nil},
		{"id", "id: 7\ndata: x\n\n", []Event{{ID: "7", Data: []byte("x")}}, nil},
		{"no final blank line", "data: x\n\ndata: y", []Event{{Data: []byte("x")}, {Data: []byte("y")}}, nil},
		{"stray blank lines", "\n\ndata: x\n\n", []Event{{Data: []byte("x")}}, nil},
		{"too large", "data: " + strings.Repeat("x", 100) + "\n\n", nil, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), 64)
			var got []Event
			for {
				ev, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					return
				}
				got = append(got, ev)
			}
			if tt.wantErr != nil {
				t.Fatalf("no error, want %v", tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Name != w.Name || g.ID != w.ID || !bytes.Equal(g.Data, w.Data) {
					t.Errorf("event %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestRawRoundTrip checks that unchanged events are forwarded byte for byte.
func TestRawRoundTrip(t *testing.T) {
	in := "event: a\ndata: 1\n\n: keep-alive\n\ndata: [DONE]\n\n"
	r := NewReader(strings.NewReader(in), 1<<20)
	var out []byte
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = ev.AppendTo(out)
	}
	if string(out) != in {
		t.Fatalf("round trip = %q, want %q", out, in)
	}
}

func TestAppendToEncodes(t *testing.T) {
	ev := Event{Name: "x", Data: []byte("a\nb")}
	if got := string(ev.AppendTo(nil)); got != "event: x\ndata: a\ndata: b\n\n" {
		t.Fatalf("got %q", got)
	}
}

// FuzzReader checks the parser never panics and that re-encoding what it
// parsed parses back to the same events.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\n", "event: e\ndata: x\r\n\r\n", ": c\n\n", "data: a\ndata: b\n\n",
		"data: [DONE]", "id: 1\nretry: 5\n\n", "\r\n\r\n", "data:\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 1<<16)
		var evs []Event
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err != nil {
				break
			}
			evs = append(evs, ev)
		}
		for _, ev := range evs {
			if ev.IsComment() || bytes.ContainsAny([]byte(ev.Name+ev.ID), "\r\n") || bytes.Contains(ev.Data, []byte("\r")) {
				continue
			}
			ev.Raw = nil
			enc := ev.AppendTo(nil)
			back, err := NewReader(bytes.NewReader(enc), 1<<17).Next()
			if err != nil {
				t.Fatalf("re-read %q: %v", enc, err)
			}
			if back.Name != ev.Name || back.ID != ev.ID || !bytes.Equal(back.Data, ev.Data) {
				t.Fatalf("round trip of %q: got %+v want %+v", enc, back, ev)
			}
		}
	})
}

func TestReady(t *testing.T) {
	r := NewReader(strings.NewReader("data: 1\n\ndata: 2\n\n"), 1<<10)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if !r.Ready() {
		t.Fatal("second event is buffered but Ready is false")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Fatal("nothing buffered but Ready is true")
	}
}

// TestCloseReuses: a reader closed mid-stream gives its buffer back, and
// the next reader sees only its own stream, while the events the first
// returned keep their bytes.
func TestCloseReuses(t *testing.T) {
	first := NewReader(strings.NewReader("data: one\n\ndata: two\n\ndata: left-over\n\n"), 1<<10)
	ev, err := first.Next()
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	first.Close() // twice is harmless
	for range 3 {
		r := NewReader(strings.NewReader("data: fresh\n\n"), 1<<10)
		got, err := r.Next()
		if err != nil || string(got.Data) != "fresh" {
			t.Fatalf("next reader: %q, %v; want fresh", got.Data, err)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("next reader after its event: %v, want EOF (no left-over from the last stream)", err)
		}
		r.Close()
	}
	if string(ev.Data) != "one" || string(ev.Raw) != "data: one\n\n" {
		t.Errorf("event of the closed reader changed: %q %q", ev.Data, ev.Raw)
	}
}
