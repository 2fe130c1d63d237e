package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
)

// requestSize is the size of every chat request the benchmark sends.
const requestSize = 1024

// benchKey is the example workspace's support key; the upstream ignores it
// and the floor forwards it.
const benchKey = "ck_demo_support"

// chatRequest is a realistic support chat request padded to exactly
// requestSize bytes, so every mode and target carries the same load.
func chatRequest(stream bool) ([]byte, error) {
	const filler = "Earlier in this conversation the customer explained that their team of seven " +
		"is evaluating the product during the trial and wants to invite everyone before the " +
		"billing cycle starts; they also mentioned that the admin console shows a seat counter " +
		"that does not match the pricing page. "
	build := func(pad string) ([]byte, error) {
		req := map[string]any{
			"model": "gpt-4o-mini",
			"messages": []map[string]string{
				{"role": "system", "content": "You are a helpful support assistant for Acme. Answer briefly, in the customer's language, and never promise discounts."},
				{"role": "user", "content": "We are ready to upgrade, but the team seat limit looks confusing."},
				{"role": "assistant", "content": "Happy to help! Could you tell me how many people you want to invite?"},
				{"role": "user", "content": pad},
			},
			"temperature": 0.2,
			"max_tokens":  256,
		}
		if stream {
			req["stream"] = true
			req["stream_options"] = map[string]any{"include_usage": true}
		}
		return json.Marshal(req)
	}
	b, err := build("")
	if err != nil {
		return nil, err
	}
	room := requestSize - len(b)
	if room <= 0 {
		return nil, fmt.Errorf("chat request is %d bytes before padding", len(b))
	}
	pad := strings.Repeat(filler, room/len(filler)+1)[:room]
	if b, err = build(pad); err != nil {
		return nil, err
	}
	if len(b) != requestSize {
		return nil, fmt.Errorf("chat request is %d bytes, want %d", len(b), requestSize)
	}
	return b, nil
}

// newClient is the load generator's client: keep-alive, with an idle pool
// per host at least as large as the concurrency so it never redials.
func newClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 2 * conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}, Timeout: 30 * time.Second}
}

// sample is one successful request.
type sample struct {
	total time.Duration // request start to the last byte of the body
	ttfb  time.Duration // request start to the first byte of the body
}

// run is one measured burst against one target.
type runResult struct {
	samples  []sample
	errors   int
	errTexts []string // the first few, for the report
	elapsed  time.Duration
	capped   bool // stopped by the time cap before n requests
	proc     usage
	procOK   bool // proc was measured
}

const keepErrTexts = 5

// call is one kind of request the load generator sends, and how its
// answer is judged.
type call struct {
	url    string
	body   []byte
	header http.Header // added to every request: the customer's identity
	stream bool        // ask for, and expect, text/event-stream
	check  func(body []byte) error
	// checkHeader, when set, judges a 200 answer's headers: that the
	// pipeline a cell means to measure did run.
	checkHeader func(http.Header) error
	// sessions, when set, are per-worker headers (an MCP session each):
	// worker i adds sessions[i%len(sessions)] to header.
	sessions []http.Header
}

// forWorker is c as worker i sends it.
func (c call) forWorker(i int) call {
	if len(c.sessions) == 0 {
		return c
	}
	h := c.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, v := range c.sessions[i%len(c.sessions)] {
		h[k] = v
	}
	c.header = h
	return c
}

// chatCall is the 1 KB chat request to url, judged by validate.
func chatCall(url string, body []byte, stream bool, header http.Header) call {
	return call{url: url, body: body, header: header, stream: stream,
		check: func(b []byte) error { return validate(b, stream) }}
}

// load sends n requests with conc workers (or until maxDur), validating
// each response.
func load(ctx context.Context, client *http.Client, c call, conc, n int, maxDur time.Duration) runResult {
	var (
		next atomic.Int64
		mu   sync.Mutex
		res  runResult
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(ctx, maxDur)
	defer cancel()
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := c.forWorker(w)
			var local []sample
			var errs []string
			nerr := 0
			buf := make([]byte, 0, 8<<10)
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				s, b, err := do(ctx, client, c, buf[:0])
				buf = b
				if err == nil {
					err = c.check(b)
				}
				if err != nil {
					if ctx.Err() != nil {
						break // the time cap, not the target
					}
					nerr++
					if len(errs) < keepErrTexts {
						errs = append(errs, err.Error())
					}
					continue
				}
				local = append(local, s)
			}
			mu.Lock()
			res.samples = append(res.samples, local...)
			res.errors += nerr
			for _, e := range errs {
				if len(res.errTexts) < keepErrTexts {
					res.errTexts = append(res.errTexts, e)
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.capped = len(res.samples)+res.errors < n
	return res
}

// do sends one request and reads the whole body into buf. It returns the
// body with the status and content type checked.
func do(ctx context.Context, client *http.Client, c call, buf []byte) (sample, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return sample{}, buf, err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+benchKey)
	if c.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{}, buf, err
	}
	defer resp.Body.Close()
	var s sample
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := resp.Body.Read(buf[len(buf):cap(buf)])
		if n > 0 && s.ttfb == 0 {
			s.ttfb = time.Since(start)
		}
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return s, buf, fmt.Errorf("read body: %w", rerr)
		}
	}
	s.total = time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return s, buf, fmt.Errorf("status %d: %s", resp.StatusCode, clip(buf, 200))
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	want := "application/json"
	if c.stream {
		want = "text/event-stream"
	}
	if mt != want {
		return s, buf, fmt.Errorf("content type %q, want %s", mt, want)
	}
	if c.checkHeader != nil {
		return s, buf, c.checkHeader(resp.Header)
	}
	return s, buf, nil
}

// validate checks a body is the upstream's answer: a chat completion with
// the whole text, or a stream of chunks that add up to it and end in
// data: [DONE].
func validate(b []byte, stream bool) error {
	want := answer()
	if !stream {
		if !gjson.ValidBytes(b) {
			return fmt.Errorf("body is not JSON: %s", clip(b, 200))
		}
		got := gjson.GetBytes(b, "choices.0.message.content")
		if got.Type != gjson.String || got.Str != want {
			return fmt.Errorf("choices[0].message.content = %s, want the upstream's answer", clip([]byte(got.Raw), 100))
		}
		return nil
	}
	var text strings.Builder
	done := false
	err := eachEvent(b, func(data []byte) error {
		if done {
			return errors.New("event after data: [DONE]")
		}
		if string(data) == "[DONE]" {
			done = true
			return nil
		}
		if !gjson.ValidBytes(data) || gjson.GetBytes(data, "object").Str != "chat.completion.chunk" {
			return fmt.Errorf("event is not a chat.completion.chunk: %s", clip(data, 200))
		}
		text.WriteString(gjson.GetBytes(data, "choices.0.delta.content").Str)
		return nil
	})
	switch {
	case err != nil:
		return err
	case !done:
		return errors.New("stream did not end in data: [DONE]")
	case text.String() != want:
		return fmt.Errorf("streamed text %q is not the upstream's answer", clip([]byte(text.String()), 100))
	}
	return nil
}

// eachEvent calls fn with the data of each event in an SSE body. Comments
// and fields other than data are skipped; several data lines join with \n.
func eachEvent(b []byte, fn func(data []byte) error) error {
	var data []byte
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		err := fn(data)
		data, have = data[:0], false
		return err
	}
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte{' '})
		if have {
			data = append(data, '\n')
		}
		data, have = append(data, value...), true
	}
	return flush()
}

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
