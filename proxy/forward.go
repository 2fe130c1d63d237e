package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers"
	"github.com/crisphq/crisp/providers/anthropicwire"
	"github.com/crisphq/crisp/providers/openaiwire"
	"github.com/crisphq/crisp/sse"
)

// Limits on what crisp reads back from a provider.
const (
	maxAnswerBytes = 64 << 20 // a complete (non-streamed) answer
	maxEventBytes  = 8 << 20  // one stream event
	maxErrorBytes  = 1 << 20  // an upstream error body
)

var (
	errStalled    = errors.New("upstream stalled")
	errClientGone = errors.New("client disconnected")
)

// forward sends the outbound body to the routed provider and relays the
// answer through the response stages. Until the status line is written an
// error goes back to serveAI to be answered; after it, forward ends the
// stream itself.
func (s *Server) forward(ctx context.Context, w http.ResponseWriter, r *Request) error {
	prov := r.Route.Provider
	// The call ends when the client leaves. It is not the client request's
	// own context, which ends with the handler: a stream that is complete
	// for the client lets its call finish reading, so the provider's
	// connection goes back to the pool (see relayStream).
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stopLeave := context.AfterFunc(r.HTTP.Context(), func() { cancel(context.Cause(r.HTTP.Context())) })
	call := &upstreamCall{cancel: cancel, stopLeave: stopLeave}
	defer func() {
		if !call.draining {
			call.end()
		}
	}()

	req, err := prov.NewRequest(ctx, providers.Call{Endpoint: r.Endpoint, Model: r.Route.Model, Body: r.Out, Stream: r.Stream})
	if err != nil {
		return errInternal(err)
	}
	filters, err := s.filters(r)
	if err != nil {
		return err
	}
	// Nothing goes upstream before the use's intent record is durable.
	if err := s.auditReady(r); err != nil {
		return err
	}
	t := prov.Timeouts()
	call.stall = time.AfterFunc(t.FirstByte, func() { cancel(errStalled) })
	resp, err := prov.Client().Do(req)
	if err != nil {
		return s.upstreamFailure(ctx, r, err)
	}
	call.body = resp.Body
	// From here the idle timeout bounds each read of the body.
	body := &idleReader{rc: resp.Body, timer: call.stall, idle: t.Idle}
	call.stall.Reset(t.Idle)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return s.upstreamError(ctx, r, resp, body)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/event-stream" {
		return s.relayStream(ctx, w, r, body, filters, call)
	}
	return s.relayBody(ctx, w, r, resp, body, filters)
}

// upstreamCall is what one provider call holds until it is over: its
// body, its stall timer and its context.
type upstreamCall struct {
	cancel    context.CancelCauseFunc
	stopLeave func() bool // stops the client's leaving from cancelling the call
	stall     *time.Timer
	body      io.ReadCloser
	draining  bool // handed to drain: it ends the call
}

func (c *upstreamCall) end() {
	c.stopLeave()
	if c.stall != nil {
		c.stall.Stop()
	}
	if c.body != nil {
		c.body.Close()
	}
	c.cancel(nil)
}

// maxDrainBytes bounds what is read after a stream's last event only to
// keep the provider's connection: an upstream that sends more is cut off.
const maxDrainBytes = 64 << 10

// drain ends the call in the background once the client has its whole
// answer: the rest of the body (normally just the end of the chunked
// encoding) is read, within maxDrainBytes and the idle timeout, so the
// connection is reused rather than closed.
func (c *upstreamCall) drain(body io.Reader) {
	c.draining = true
	c.stopLeave()
	go func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
		c.end()
	}()
}

// filters asks each response stage for this request's filter.
func (s *Server) filters(r *Request) ([]ResponseFilter, error) {
	var fs []ResponseFilter
	for _, st := range s.response {
		f, err := st.Response(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.Name(), err)
		}
		if f != nil {
			fs = append(fs, f)
		}
	}
	return fs, nil
}

// upstreamFailure maps a failed call to 504 (stalled), 499 (client left) or
// 502 (unreachable).
func (s *Server) upstreamFailure(ctx context.Context, r *Request, err error) error {
	name := r.Route.Provider.Name()
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errStalled):
		return errUpstreamTimeout(name, err)
	case r.HTTP.Context().Err() != nil:
		return &Error{Status: 499, Type: "api_error", Code: "client_closed_request", Message: "The client went away.", Cause: err}
	}
	return errUpstreamUnreachable(name, err)
}

// upstreamError passes a provider's error answer through with its status,
// scrubbed of the provider key. A body that is not JSON is wrapped in
// OpenAI's error shape so SDKs can read it.
func (s *Server) upstreamError(ctx context.Context, r *Request, resp *http.Response, body io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(body, maxErrorBytes))
	if err != nil {
		return s.upstreamFailure(ctx, r, err)
	}
	b = scrub(r, b)
	ct := resp.Header.Get("Content-Type")
	if !gjson.ValidBytes(b) {
		msg := fmt.Sprintf("The provider %q answered %d: %s", r.Route.Provider.Name(), resp.StatusCode, clip(string(b), 500))
		b, ct = openaiwire.Error(msg, "api_error", "upstream_error", nil), "application/json"
	}
	if ct == "" {
		ct = "application/json"
	}
	return &upstreamStatus{Status: resp.StatusCode, ContentType: ct, Body: b}
}

// relayBody forwards a complete answer after the response filters.
func (s *Server) relayBody(ctx context.Context, w http.ResponseWriter, r *Request, resp *http.Response, body io.Reader, filters []ResponseFilter) error {
	b, err := readAllInto(make([]byte, 0, max(resp.ContentLength, 512)+1), io.LimitReader(body, maxAnswerBytes))
	if err != nil {
		return s.upstreamFailure(ctx, r, err)
	}
	for _, f := range filters {
		if b, err = f.Body(b); err != nil {
			return errInternal(err)
		}
	}
	r.Status = resp.StatusCode
	r.TTFB = time.Since(r.Start)
	s.hashAnswer(r, b)
	// The answer is not given before its record is durable.
	if err := s.auditEnd(ctx, r); err != nil {
		r.Status = 0
		return err
	}
	h := w.Header()
	h.Set("Content-Type", resp.Header.Get("Content-Type"))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	r.started = true
	w.WriteHeader(resp.StatusCode)
	n, err := w.Write(b)
	if err == nil {
		// The answer goes out now, not once the log line is written.
		err = http.NewResponseController(w).Flush()
	}
	r.BytesOut = int64(n)
	if err != nil {
		r.ErrCode = "client_closed_request"
	}
	return nil
}

// relayStream forwards an event stream, each event flushed as it arrives.
// The event that completes the stream for the client ([DONE],
// response.completed, message_stop) is its last: it goes out with the end
// of the response once the handler returns, without waiting for the
// provider to close its side, which call then drains (unless its end came
// with that event).
func (s *Server) relayStream(ctx context.Context, w http.ResponseWriter, r *Request, body *idleReader, filters []ResponseFilter, call *upstreamCall) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	r.Status = http.StatusOK
	r.started = true
	w.WriteHeader(http.StatusOK)
	out := sse.NewWriter(w)
	r.respHash = s.answerHash()
	out.Hash = r.respHash
	defer func() { r.BytesOut = out.N }()

	complete := false // the client's last event is written
	emit := chain(filters, func(ev sse.Event) error {
		if r.TTFB == 0 {
			r.TTFB = time.Since(r.Start)
		}
		// The event that completes the stream waits for the use's record.
		if terminal(&ev) {
			if err := s.auditEnd(ctx, r); err != nil {
				return err
			}
			complete = true
		}
		if err := out.Buffer(&ev); err != nil {
			return fmt.Errorf("%w: %w", errClientGone, err)
		}
		return nil
	})
	rd := sse.NewReader(body, maxEventBytes)
	defer rd.Close()
	for {
		// Events that arrived together go out together: flush only when
		// the next event would wait on the network. The status line waits
		// for the first event, as in any Go reverse proxy: sent alone it
		// would cost the client a packet and a wake-up of its own.
		if !rd.Ready() && out.N > 0 {
			if err := out.Flush(); err != nil {
				return s.endStream(ctx, r, out, fmt.Errorf("%w: %w", errClientGone, err))
			}
		}
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.endStream(ctx, r, out, err)
		}
		if err := emit.event(ev); err != nil {
			return s.endStream(ctx, r, out, err)
		}
		if complete {
			break
		}
	}
	if err := emit.end(); err != nil {
		return s.endStream(ctx, r, out, err)
	}
	if complete {
		// The server sends what is buffered and the response's end in one
		// write when the handler returns. The provider's end often came
		// with the last event: then there is nothing left to drain, and
		// no goroutine (and thread wake-up) is spent on it.
		if !body.eof {
			call.drain(body)
		}
		return nil
	}
	if err := out.Flush(); err != nil {
		r.ErrCode = "client_closed_request"
	}
	// An upstream that closed without its final event still ends the use.
	if err := s.auditEnd(ctx, r); err != nil {
		return s.endStream(ctx, r, out, err)
	}
	return nil
}

// endStream ends a stream that broke after its status was sent: the only
// thing left to do is tell the client in-band and stop. No [DONE] follows,
// so SDKs report the stream as failed rather than complete.
func (s *Server) endStream(ctx context.Context, r *Request, out *sse.Writer, err error) error {
	var e *Error
	switch {
	case errors.Is(err, errClientGone) || r.HTTP.Context().Err() != nil:
		r.Status, r.ErrCode = 499, "client_closed_request"
		_ = s.auditEnd(ctx, r)
		return nil
	case errors.As(err, &e) && e.Code == "audit_unavailable":
	case errors.Is(context.Cause(ctx), errStalled):
		e = errUpstreamTimeout(r.Route.Provider.Name(), err)
	default:
		e = errUpstreamBroken(r.Route.Provider.Name(), err)
	}
	r.ErrCode = e.Code
	if aerr := s.auditEnd(ctx, r); aerr != nil {
		e = asError(aerr)
		r.ErrCode = e.Code
	}
	s.log.Warn().Str("request_id", r.ID).Str("code", e.Code).Str("cause", string(scrub(r, []byte(err.Error())))).Msg("stream ended early")
	ev := sse.Event{Data: openaiwire.Error(e.Message, e.Type, e.Code, nil)}
	switch {
	case r.dialect == dialectAnthropic:
		ae := anthropicwire.StreamError(e.Message)
		ev = sse.Named(ae.Name, ae.Data)
	case r.Endpoint == providers.Responses:
		ev.Name = "error"
	}
	_ = out.Write(&ev)
	return nil
}

// filterChain runs an event through each filter in turn.
type filterChain struct {
	filters []ResponseFilter
	emits   []func(sse.Event) error // emits[i] feeds filter i; the last one writes
}

func chain(filters []ResponseFilter, write func(sse.Event) error) *filterChain {
	c := &filterChain{filters: filters, emits: make([]func(sse.Event) error, len(filters)+1)}
	c.emits[len(filters)] = write
	for i := len(filters) - 1; i >= 0; i-- {
		f, next := filters[i], c.emits[i+1]
		c.emits[i] = func(ev sse.Event) error { return f.Event(ev, next) }
	}
	return c
}

func (c *filterChain) event(ev sse.Event) error { return c.emits[0](ev) }

// end lets each filter release what it held, in order, so what one filter
// releases still passes the filters after it.
func (c *filterChain) end() error {
	for i, f := range c.filters {
		if err := f.End(c.emits[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// idleReader cancels the call (through the timer) when a read waits longer
// than idle: an upstream that stops mid-answer must not hold a request open.
type idleReader struct {
	rc    io.Reader
	timer *time.Timer
	idle  time.Duration
	eof   bool // the body is read to its end: the connection is the pool's again
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.timer.Reset(r.idle)
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

func scrub(r *Request, b []byte) []byte {
	if sc, ok := r.Route.Provider.(providers.Scrubber); ok {
		return sc.Scrub(b)
	}
	return b
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
