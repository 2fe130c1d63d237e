//go:build unix

package providers

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts a test server's connections as they open and close.
type connCounter struct{ opened, closed atomic.Int32 }

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.opened.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.closed.Add(1)
	}
}

func newH1(t *testing.T, next http.RoundTripper) *h1Transport {
	t.Helper()
	if next == nil {
		next = http.DefaultTransport
	}
	h := &h1Transport{dial: (&net.Dialer{}).DialContext, proxy: http.ProxyFromEnvironment,
		next: next, maxIdle: 4, idleTimeout: time.Minute}
	t.Cleanup(h.CloseIdleConnections)
	return h
}

// server starts a test server counting its connections.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	var cc connCounter
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.hook
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &cc
}

func call(t *testing.T, rt http.RoundTripper, ctx context.Context, method, url, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// Answers of every framing come back whole, and the connection serves the
// next call.
func TestH1ReusesConnection(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv, cc := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b))
		mu.Unlock()
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("data: one\n\n"))
			w.(http.Flusher).Flush()
			w.Write([]byte("data: two\n\n"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Length", "2")
			w.Write([]byte("ok"))
		}
	})
	h := newH1(t, nil)
	ctx := context.Background()
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/length", `{"a":1}`, "ok"},
		{"POST", "/chunked", `{"b":2}`, "data: one\n\ndata: two\n\n"},
		{"GET", "/length", "", "ok"},
		{"HEAD", "/length", "", ""},
		{"POST", "/empty", `{}`, ""},
		{"POST", "/length", `{"c":3}`, "ok"},
	} {
		resp, body := call(t, h, ctx, c.method, srv.URL+c.path, c.body)
		if body != c.want {
			t.Errorf("%s %s: body %q, want %q", c.method, c.path, body, c.want)
		}
		if resp.Request == nil || resp.Request.URL.Path != c.path {
			t.Errorf("%s %s: response's Request not set", c.method, c.path)
		}
	}
	if n := cc.opened.Load(); n != 1 {
		t.Errorf("%d connections opened, want 1", n)
	}
	want := []string{`POST /length application/json {"a":1}`, `POST /chunked application/json {"b":2}`,
		"GET /length application/json ", "HEAD /length application/json ", `POST /empty application/json {}`, `POST /length application/json {"c":3}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server saw\n%q\nwant\n%q", got, want)
	}
}

// A connection is not reused when either side says close or the body was
// left unread.
func TestH1NotReused(t *testing.T) {
	srv, cc := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte(strings.Repeat("x", 64<<10)))
	})
	h := newH1(t, nil)
	ctx := context.Background()

	call(t, h, ctx, "GET", srv.URL+"/close", "")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	req.Close = true
	if resp, err := h.RoundTrip(req); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Closed after one read: the rest of the answer is not worth reading.
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	resp, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close()
	if n, err := resp.Body.Read(make([]byte, 10)); n != 0 || err == nil || err == io.EOF {
		t.Errorf("read after close: %d, %v; want 0 and an error that is not EOF", n, err)
	}
	call(t, h, ctx, "GET", srv.URL+"/", "")
	if n := cc.opened.Load(); n != 4 {
		t.Errorf("%d connections opened, want 4 (none of the first three reusable)", n)
	}
	if n := len(h.idle[hostPort(mustURL(t, srv.URL))]); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// An idle connection the server closed is noticed before a request is
// written to it: the call goes out on a new one and succeeds.
func TestH1ServerClosedIdle(t *testing.T) {
	srv, cc := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	})
	h := newH1(t, nil)
	ctx := context.Background()
	call(t, h, ctx, "POST", srv.URL, `{}`)
	// The server drops its idle connections (as on its idle timeout or a
	// restart); the pool still holds its end.
	srv.CloseClientConnections()
	for cc.closed.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	if _, body := call(t, h, ctx, "POST", srv.URL, `{}`); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := cc.opened.Load(); n != 2 {
		t.Errorf("%d connections opened, want 2", n)
	}
}

// rawServer answers each request on a connection with the bytes answer
// returns for it, closing the connection after when it says so. It counts
// the connections it accepted.
func rawServer(t *testing.T, answer func(req *http.Request) (string, bool)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					a, end := answer(req)
					if _, err := io.WriteString(c, a); err != nil || end {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &accepted
}

// Informational answers are skipped, as http.Transport does; an answer
// followed by bytes nobody asked for leaves its connection unused.
func TestH1RawAnswers(t *testing.T) {
	base, accepted := rawServer(t, func(req *http.Request) (string, bool) {
		switch req.URL.Path {
		case "/hints":
			return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
		case "/extra":
			return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false
		case "/eof":
			return "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", true
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	h := newH1(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		path  string
		conns int32 // connections accepted after the call
	}{{"/hints", 1}, {"/plain", 1}, {"/extra", 1}, {"/plain", 2}} {
		resp, body := call(t, h, ctx, "POST", base+c.path, `{}`)
		if resp.StatusCode != 200 || body != "ok" {
			t.Errorf("%s: %d %q", c.path, resp.StatusCode, body)
		}
		if n := accepted.Load(); n != c.conns {
			t.Errorf("after %s: %d connections, want %d", c.path, n, c.conns)
		}
	}
	// A body cut short by the server's end is an error, never a short answer.
	req, _ := http.NewRequest("POST", base+"/eof", strings.NewReader(`{}`))
	resp, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("short body read as %q without an error", b)
	}
}

// A cancelled call ends at once with the context's cause, whether it was
// waiting for the answer's head or reading its body, and the server sees
// the connection go.
func TestH1Cancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv, cc := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server watches for the client leaving
		if r.URL.Path == "/body" {
			w.Write([]byte("data: one\n\n"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	h := newH1(t, nil)
	cause := errors.New("stalled")

	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/head", strings.NewReader(`{}`))
	if _, err := h.RoundTrip(req); !errors.Is(err, cause) {
		t.Errorf("waiting for the head: %v, want the cause", err)
	}

	ctx, cancel = context.WithCancelCause(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "POST", srv.URL+"/body", strings.NewReader(`{}`))
	resp, err := h.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || string(buf[:n]) != "data: one\n\n" {
		t.Fatalf("first read: %q, %v", buf[:n], err)
	}
	time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
	if _, err := resp.Body.Read(buf); !errors.Is(err, cause) {
		t.Errorf("reading the body: %v, want the cause", err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for cc.closed.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c := cc.closed.Load(); c != 2 {
		t.Errorf("server saw %d of 2 connections closed", c)
	}

	// A call whose context is already done is not sent.
	if _, err := h.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: %v", err)
	}
	if n := cc.opened.Load(); n != 2 {
		t.Errorf("%d connections opened, want 2", n)
	}
}

type recordingRT struct{ urls []string }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

// https (which may be HTTP/2) and proxied calls are http.Transport's.
func TestH1HandsOver(t *testing.T) {
	next := &recordingRT{}
	h := newH1(t, next)
	h.proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == "via-proxy.example" {
			return url.Parse("http://proxy.example:3128")
		}
		return nil, nil
	}
	for _, u := range []string{"https://api.openai.example/v1/models", "http://via-proxy.example/v1/models"} {
		req, _ := http.NewRequest("GET", u, nil)
		if _, err := h.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	if len(next.urls) != 2 {
		t.Errorf("handed over %q, want both", next.urls)
	}
}

// The pool keeps maxIdle connections per host and closes those idle for
// idleTimeout.
func TestH1PoolBounds(t *testing.T) {
	hold := make(chan struct{})
	var in sync.WaitGroup
	srv, cc := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			in.Done()
			<-hold
		}
		w.Write([]byte("ok"))
	})
	h := newH1(t, nil)
	h.maxIdle, h.idleTimeout = 2, 50*time.Millisecond
	ctx := context.Background()
	var done sync.WaitGroup
	in.Add(3)
	for range 3 {
		done.Go(func() { call(t, h, ctx, "GET", srv.URL+"/hold", "") })
	}
	in.Wait()
	close(hold)
	done.Wait()
	key := hostPort(mustURL(t, srv.URL))
	h.mu.Lock()
	n := len(h.idle[key])
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("%d idle connections, want 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cc.closed.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c := cc.closed.Load(); c != 3 {
		t.Errorf("%d of 3 connections closed after the idle timeout", c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.idle) != 0 || h.sweep != nil {
		t.Errorf("pool not empty after the idle timeout: %d hosts, sweep %v", len(h.idle), h.sweep != nil)
	}
}
