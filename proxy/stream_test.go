package proxy_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

const streamBody = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"seats?"}]}`

// TestStreamFirstChunkBeforeUpstreamFinishes proves crisp streams: the first
// event reaches the client while the upstream is still holding the second.
func TestStreamFirstChunkBeforeUpstreamFinishes(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Gate = make(chan struct{})
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))

	resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, streamBody)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
	}()
	select {
	case first := <-lines:
		if !strings.Contains(first, `"role":"assistant"`) {
			t.Fatalf("first event = %s", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first event did not arrive while the upstream held the second")
	}
	// Release the rest; the stream completes with [DONE].
	go func() {
		for {
			select {
			case fake.Gate <- struct{}{}:
			case <-time.After(3 * time.Second):
				return
			}
		}
	}()
	var last string
	for l := range lines {
		last = l
	}
	if last != "data: [DONE]" {
		t.Fatalf("last line = %q, want data: [DONE]", last)
	}
}

// TestClientDisconnectCancelsUpstream proves a client that leaves mid-stream
// cancels the upstream call rather than letting it run on.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Gate = make(chan struct{}) // never released: the upstream holds after the first event
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", crisp.URL+"/v1/chat/completions", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatalf("first event: %v", err)
	}
	cancel()
	resp.Body.Close()
	select {
	case path := <-fake.Canceled:
		if path != "/v1/chat/completions" {
			t.Fatalf("canceled %s", path)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the cancel")
	}
	waitFor(t, func() bool { return strings.Contains(crisp.Logs.String(), `"code":"client_closed_request"`) })
}

// TestStreamStallMidway ends a stream whose upstream stops sending: the
// client gets an in-band error and no [DONE].
func TestStreamStallMidway(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Gate = make(chan struct{})
	crisp := servertest.Start(t, servertest.Config(fake.URL(), "    timeouts: {first_byte: 2s, idle: 300ms}"))

	resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, streamBody)
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"code":"upstream_timeout"`) {
		t.Fatalf("last line = %q, want an upstream_timeout error event", last)
	}
	for _, l := range lines {
		if l == "data: [DONE]" {
			t.Fatal("a broken stream must not end with [DONE]")
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
