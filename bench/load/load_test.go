package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestChatRequestSize(t *testing.T) {
	for _, stream := range []bool{false, true} {
		b, err := chatRequest(stream)
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if len(b) != requestSize {
			t.Errorf("stream=%v: %d bytes, want %d", stream, len(b), requestSize)
		}
		if got := bytes.Contains(b, []byte(`"stream":true`)); got != stream {
			t.Errorf("stream=%v: body says stream %v", stream, got)
		}
	}
}

func TestValidate(t *testing.T) {
	up := newUpstream()
	stream := bytes.Join(up.frames, nil)
	noDone := bytes.Join(up.frames[:len(up.frames)-1], nil)
	tests := []struct {
		name    string
		body    []byte
		stream  bool
		wantErr string
	}{
		{"complete answer", up.complete, false, ""},
		{"not JSON", []byte("<html>"), false, "not JSON"},
		{"wrong content", []byte(`{"choices":[{"message":{"content":"hi"}}]}`), false, "content"},
		{"no choices", []byte(`{"error":{"message":"boom"}}`), false, "content"},
		{"stream", stream, true, ""},
		{"stream with CRLF", bytes.ReplaceAll(stream, []byte("\n"), []byte("\r\n")), true, ""},
		{"stream with comments", append([]byte(": keep-alive\n\n"), stream...), true, ""},
		{"stream without DONE", noDone, true, "did not end"},
		{"event after DONE", append(bytes.Clone(stream), up.frames[1]...), true, "after data: [DONE]"},
		{"stream cut short", append(bytes.Clone(up.frames[0]), up.frames[len(up.frames)-1]...), true, "not the upstream's answer"},
		{"stream of junk", []byte("data: {\"x\":1}\n\ndata: [DONE]\n\n"), true, "not a chat.completion.chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(tt.body, tt.stream)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("validate: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestLoadThroughFloor drives the fake upstream directly and through the
// floor, as the benchmark does, and expects every answer to validate.
func TestLoadThroughFloor(t *testing.T) {
	up := httptest.NewServer(newUpstream())
	defer up.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveFloor(ctx, "127.0.0.1:0", up.Listener.Addr().String(), "", lineWriter(addr), io.Discard)
	}()
	floor := <-addr
	client := newClient(4)
	defer client.CloseIdleConnections()
	for _, url := range []string{up.URL + chatPath, "http://" + floor + chatPath} {
		for _, stream := range []bool{false, true} {
			body, err := chatRequest(stream)
			if err != nil {
				t.Fatal(err)
			}
			r := load(ctx, client, chatCall(url, body, stream, nil), 4, 200, 10*time.Second)
			if r.errors != 0 || len(r.samples) != 200 {
				t.Errorf("%s stream=%v: %d ok, %d errors %q", url, stream, len(r.samples), r.errors, r.errTexts)
			}
			if stream && r.samples[0].ttfb <= 0 {
				t.Errorf("%s: no time to first byte", url)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("floor: %v", err)
	}
}

// lineWriter sends the first line written to it, the address a role
// reports.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- strings.TrimSpace(string(p)):
	default:
	}
	return len(p), nil
}
