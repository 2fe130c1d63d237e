package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// TestStreamStatusWithFirstEvent pins when the status line leaves: with
// the first event, not alone as soon as the provider's headers arrive. A
// lone status line would cost the client a packet and a wake-up of its own
// on every stream. The upstream here sends its headers, then holds its
// first event until the test lets it go.
func TestStreamStatusWithFirstEvent(t *testing.T) {
	release, sent := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(sent)
		<-release
		writeStream(w, "Hi")
	}))
	defer up.Close()
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let() // before up.Close, which waits for the held handler
	crisp := servertest.Start(t, servertest.Config(up.URL+"/v1", ""))

	conn, err := net.Dial("tcp", strings.TrimPrefix(crisp.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: crisp\r\nAuthorization: Bearer " + servertest.SupportKey +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(streamBody)) + "\r\n\r\n" + streamBody
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	<-sent
	// The provider's headers are in; crisp must not answer yet.
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var one [1]byte
	if n, err := conn.Read(one[:]); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("crisp answered before the first event: %d bytes, %v", n, err)
	}
	let()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(strings.Join(lines, "\n"), `"content":"Hi"`) || lines[len(lines)-1] != "data: [DONE]" {
		t.Fatalf("status %d, events %q", resp.StatusCode, lines)
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

// writeStream writes a chat stream of one text, its finish and [DONE],
// each event flushed.
func writeStream(w http.ResponseWriter, text string) {
	for _, ev := range []string{
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":` + strconv.Quote(text) + `},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
		`[DONE]`,
	} {
		w.Write([]byte("data: " + ev + "\n\n"))
		w.(http.Flusher).Flush()
	}
}

// TestStreamEndsAtLastEvent: the client's stream is complete at [DONE],
// even while the provider keeps its side open; and a provider that ends
// normally keeps its connection for the next call.
func TestStreamEndsAtLastEvent(t *testing.T) {
	hold := make(chan struct{})
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		writeStream(w, "Seats: five. ")
		if strings.Contains(string(in), "hold") {
			<-hold // the provider's side stays open after its last event
		}
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	var once sync.Once
	defer once.Do(func() { close(hold) }) // before up.Close, which waits for the held handler
	crisp := servertest.Start(t, servertest.Config(up.URL+"/v1", "    timeouts: {first_byte: 2s, idle: 30s}"))

	stream := func(body string) {
		t.Helper()
		resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, body)
		defer resp.Body.Close()
		done := make(chan []string, 1)
		go func() {
			var lines []string
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if sc.Text() != "" {
					lines = append(lines, sc.Text())
				}
			}
			done <- lines
		}()
		select {
		case lines := <-done:
			if len(lines) == 0 || lines[len(lines)-1] != "data: [DONE]" {
				t.Fatalf("stream = %q, want it to end with data: [DONE]", lines)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the stream did not end at its last event")
		}
	}
	// The connection goes back to crisp's pool once the drain read its
	// end, which may be just after the client's next call begins: reuse
	// is asserted over several calls, not each.
	for range 5 {
		stream(streamBody)
	}
	if n := conns.Load(); n > 3 {
		t.Fatalf("the provider saw %d connections for five streams: they are not reused", n)
	}
	// The provider holds its side open for 30 s of idle timeout: the
	// client's stream still ends at once.
	stream(strings.Replace(streamBody, "seats?", "hold", 1))
}
