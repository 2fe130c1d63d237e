package providers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// h1Transport sends plaintext HTTP/1.1 requests (a provider on loopback or
// in the same network: Ollama, vLLM, an internal gateway) on the caller's
// goroutine. http.Transport gives every connection a writer and a reader
// goroutine, so each call hands its request to one and its answer back from
// the other: on an idle machine each handoff wakes a thread, which costs a
// proxy in front of a fast local model more than its own work. Here the
// caller writes the request, reads the status and headers, and reads the
// body itself; the connection goes back to the pool when the body ends.
//
// Requests and answers are framed by net/http itself (Request.Write,
// ReadResponse), so the bytes on the wire are what http.Transport sends.
// Anything else (https, which may speak HTTP/2; a proxy from the
// environment) goes to next.
type h1Transport struct {
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	proxy       func(*http.Request) (*url.URL, error)
	next        http.RoundTripper
	maxIdle     int           // idle connections kept per host
	idleTimeout time.Duration // an idle connection older than this is closed, not reused

	mu    sync.Mutex
	idle  map[string][]*h1Conn // per host:port, most recently used last
	sweep *time.Timer          // closes connections idle too long; nil when none are
}

// h1Conn is one connection and its buffers.
type h1Conn struct {
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	key       string
	idleSince time.Time
}

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.URL.Host == "" {
		return t.next.RoundTrip(req)
	}
	if p, err := t.proxy(req); err != nil || p != nil {
		return t.next.RoundTrip(req)
	}
	key := hostPort(req.URL)
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	pc := t.get(key)
	if pc == nil {
		var err error
		if pc, err = t.dialConn(ctx, key); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	return t.send(ctx, pc, req)
}

// send writes req on pc and reads the answer's head. The body is read by
// the caller; its end returns pc to the pool.
func (t *h1Transport) send(ctx context.Context, pc *h1Conn, req *http.Request) (*http.Response, error) {
	// A cancelled call closes the connection, which ends any read or
	// write on it at once.
	stop := context.AfterFunc(ctx, func() { pc.nc.Close() })
	fail := func(err error) (*http.Response, error) {
		if !stop() {
			return nil, context.Cause(ctx) // the close above caused err
		}
		pc.nc.Close()
		return nil, err
	}
	if err := req.Write(pc.bw); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(fmt.Errorf("write request: %w", err))
	}
	resp, err := http.ReadResponse(pc.br, req)
	// Informational answers (103 Early Hints) come before the real one,
	// as http.Transport skips them. 101 would switch protocols: it is
	// returned, and its connection never reused.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(pc.br, req)
	}
	if err != nil {
		return fail(fmt.Errorf("read response: %w", err))
	}
	reuse := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	b := &h1Body{t: t, pc: pc, rc: resp.Body, stop: stop, ctx: ctx, reuse: reuse}
	if resp.Body == http.NoBody || !bodyAllowed(req, resp) {
		b.finish(true)
	}
	resp.Body = b
	return resp, nil
}

// bodyAllowed is false for the answers that have no body whatever their
// headers say.
func bodyAllowed(req *http.Request, resp *http.Response) bool {
	return req.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
}

// h1Body is an answer's body on a pooled connection.
type h1Body struct {
	t     *h1Transport
	pc    *h1Conn
	rc    io.ReadCloser
	stop  func() bool // stops the call's cancellation from closing pc
	ctx   context.Context
	reuse bool
	end   atomic.Int32 // once the connection is no longer this body's: endWhole or endClosed
}

const (
	endWhole  = 1 // read to its end: reads return io.EOF
	endClosed = 2 // closed or failed: reads return errReadAfterClose
)

var errReadAfterClose = errors.New("http: read on closed response body")

func (b *h1Body) Read(p []byte) (int, error) {
	switch b.end.Load() {
	case endWhole:
		return 0, io.EOF
	case endClosed:
		return 0, errReadAfterClose
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		b.finish(false)
		if b.ctx.Err() != nil {
			err = context.Cause(b.ctx)
		}
	}
	return n, err
}

// Close before the end of the body closes the connection: what is left of
// the answer is not worth reading.
func (b *h1Body) Close() error {
	b.finish(false)
	return nil
}

// finish hands the connection back (whole: read to its end) or closes it,
// once.
func (b *h1Body) finish(whole bool) {
	end := int32(endClosed)
	if whole {
		end = endWhole
	}
	if !b.end.CompareAndSwap(0, end) {
		return
	}
	if b.stop() && whole && b.reuse {
		b.t.put(b.pc)
		return
	}
	b.pc.nc.Close()
}

// get takes the most recently used idle connection to key that is still
// open, or nil. Connections idle too long are closeStale's to retire.
func (t *h1Transport) get(key string) *h1Conn {
	for {
		t.mu.Lock()
		conns := t.idle[key]
		if len(conns) == 0 {
			t.mu.Unlock()
			return nil
		}
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		t.idle[key] = conns[:len(conns)-1]
		t.mu.Unlock()
		if connAlive(pc.nc) {
			return pc
		}
		pc.nc.Close()
	}
}

func (t *h1Transport) put(pc *h1Conn) {
	if pc.br.Buffered() > 0 {
		pc.nc.Close() // bytes after the answer: the connection is out of step
		return
	}
	pc.idleSince = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*h1Conn{}
	}
	if len(t.idle[pc.key]) < t.maxIdle {
		t.idle[pc.key] = append(t.idle[pc.key], pc)
		pc = nil
		if t.sweep == nil {
			t.sweep = time.AfterFunc(t.idleTimeout, t.closeStale)
		}
	}
	t.mu.Unlock()
	if pc != nil {
		pc.nc.Close()
	}
}

// closeStale closes the connections idle for idleTimeout, as
// http.Transport's timers do: without it a burst's connections would stay
// open (in CLOSE_WAIT once the server gave up on them) until the next call.
func (t *h1Transport) closeStale() {
	now := time.Now()
	var stale []*h1Conn
	t.mu.Lock()
	oldest := now
	for key, conns := range t.idle {
		// Most recently used last: the stale ones are a prefix.
		n := 0
		for n < len(conns) && now.Sub(conns[n].idleSince) >= t.idleTimeout {
			n++
		}
		stale = append(stale, conns[:n]...)
		if n == len(conns) {
			delete(t.idle, key)
			continue
		}
		t.idle[key] = append(conns[:0], conns[n:]...)
		clear(conns[len(conns)-n:])
		if conns[0].idleSince.Before(oldest) {
			oldest = conns[0].idleSince
		}
	}
	if len(t.idle) > 0 && t.sweep != nil {
		t.sweep.Reset(oldest.Add(t.idleTimeout).Sub(now))
	} else {
		t.sweep = nil
	}
	t.mu.Unlock()
	for _, pc := range stale {
		pc.nc.Close()
	}
}

func (t *h1Transport) dialConn(ctx context.Context, key string) (*h1Conn, error) {
	nc, err := t.dial(ctx, "tcp", key)
	if err != nil {
		return nil, err
	}
	// 4 KiB buffers, as http.Transport's: a larger body or answer part
	// goes around them.
	return &h1Conn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriter(nc), key: key}, nil
}

// CloseIdleConnections closes the pooled connections (and next's).
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	if t.sweep != nil {
		t.sweep.Stop()
		t.sweep = nil
	}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, pc := range conns {
			pc.nc.Close()
		}
	}
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
