package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzToChat: any body either translates to a JSON chat request or is
// refused with a *RequestError; nothing panics.
func FuzzToChat(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "tochat", "*.json"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := ToChat(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RequestError", err)
			}
			return
		}
		var req struct {
			Model    string            `json:"model"`
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(out, &req); err != nil || req.Model == "" {
			t.Fatalf("output %s: %v", out, err)
		}
	})
}

// FuzzStream: any sequence of chunk data (one per line) yields events in
// Anthropic's grammar, and nothing panics.
func FuzzStream(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "stream", "*.sse"))
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if d, ok := strings.CutPrefix(l, "data: "); ok {
				lines = append(lines, d)
			}
		}
		f.Add([]byte(strings.Join(lines, "\n")), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, end bool) {
		s := NewStream("claude-sonnet-4-5")
		var events []Event
		for _, line := range bytes.Split(data, []byte("\n")) {
			evs, err := s.Event(line)
			events = append(events, evs...)
			if err != nil {
				if !errors.Is(err, ErrUpstream) {
					t.Fatalf("error %v does not wrap ErrUpstream", err)
				}
				events = append(events, StreamError("upstream"))
				break
			}
		}
		if end || !s.Done() {
			events = append(events, s.End()...)
		}
		if err := checkGrammar(events); err != nil {
			t.Fatalf("%v\nevents: %q", err, events)
		}
	})
}
