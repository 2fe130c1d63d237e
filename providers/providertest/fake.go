// Package providertest is a fake OpenAI-compatible provider for tests and
// benchmarks: an httptest server that speaks OpenAI's real wire format
// (chat completions, streamed or not, Responses, embeddings, models) and
// records what it was sent. Tests use its knobs to pause, fail or stall.
package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers/openaiwire"
)

// Received is one request as the fake saw it.
type Received struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Fake is a fake provider. Set its knobs before the requests they affect.
type Fake struct {
	Server *httptest.Server

	// Answer is the assistant's text; streams split it into Pieces when set.
	Answer string
	Pieces []string
	// Status, when set, makes every AI call fail with it and ErrorBody.
	Status    int
	ErrorBody string
	// Gate, when set, is received from before each stream event after the
	// first: a test holds the stream by not sending.
	Gate chan struct{}
	// Stall makes the fake wait this long before answering headers.
	Stall time.Duration
	// Models is what GET /models lists.
	Models []string

	mu       sync.Mutex
	received []Received
	// Canceled receives once for each request whose client went away.
	Canceled chan string
}

// New starts a fake over plain HTTP on loopback.
func New() *Fake {
	f := newFake()
	f.Server = httptest.NewServer(f)
	return f
}

// NewTLS starts a fake over HTTPS with its own test certificate.
func NewTLS() *Fake {
	f := newFake()
	f.Server = httptest.NewTLSServer(f)
	return f
}

func newFake() *Fake {
	return &Fake{
		Answer:   "Your trial includes five seats; the Growth plan raises that limit.",
		Models:   []string{"gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "dall-e-3"},
		Canceled: make(chan string, 16),
	}
}

// URL is the fake's base URL, ending in /v1.
func (f *Fake) URL() string { return f.Server.URL + "/v1" }

// Close stops the server.
func (f *Fake) Close() { f.Server.Close() }

// Received returns what the fake was sent so far.
func (f *Fake) Received() []Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Received(nil), f.received...)
}

// Last returns the last request the fake was sent.
func (f *Fake) Last() Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		return Received{}
	}
	return f.received[len(f.received)-1]
}

// Update changes knobs while requests may be in flight.
func (f *Fake) Update(fn func(f *Fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// knobs is a consistent copy of the knobs for one request.
type knobs struct {
	answer    string
	pieces    []string
	status    int
	errorBody string
	gate      chan struct{}
	stall     time.Duration
	models    []string
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.received = append(f.received, Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	k := knobs{f.Answer, f.Pieces, f.Status, f.ErrorBody, f.Gate, f.Stall, f.Models}
	f.mu.Unlock()
	f.serve(w, r, body, k)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, body []byte, k knobs) {
	if k.stall > 0 {
		select {
		case <-time.After(k.stall):
		case <-r.Context().Done():
			f.Canceled <- r.URL.Path
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	if path == "/models" && r.Method == http.MethodGet {
		models := make([]openaiwire.Model, len(k.models))
		for i, m := range k.models {
			models[i] = openaiwire.Model{ID: m, Object: "model", Created: 1700000000, OwnedBy: "fake"}
		}
		writeJSON(w, 200, openaiwire.ModelList(models))
		return
	}
	if k.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(k.status)
		io.WriteString(w, k.errorBody)
		return
	}
	model := gjson.GetBytes(body, "model").String()
	stream := gjson.GetBytes(body, "stream").Bool()
	u := openaiwire.Usage{Prompt: 12, Completion: 9}
	const created = 1700000000
	switch path {
	case "/chat/completions":
		if !stream {
			writeJSON(w, 200, openaiwire.ChatCompletion("chatcmpl-fake", model, created, k.answer, u))
			return
		}
		chunks := openaiwire.ChatChunks("chatcmpl-fake", model, created, k.split(), u,
			gjson.GetBytes(body, "stream_options.include_usage").Bool())
		evs := make([][]byte, 0, len(chunks)+1)
		for _, c := range chunks {
			evs = append(evs, []byte("data: "+string(c)+"\n\n"))
		}
		evs = append(evs, []byte("data: [DONE]\n\n"))
		f.stream(w, r, evs, k.gate)
	case "/responses":
		if !stream {
			writeJSON(w, 200, openaiwire.ResponseJSON("resp_fake", model, created, k.answer, u))
			return
		}
		var evs [][]byte
		for _, e := range openaiwire.ResponseEvents("resp_fake", model, created, k.split(), u) {
			evs = append(evs, []byte(fmt.Sprintf("event: %s\ndata: %s\n\n", e.Name, e.Data)))
		}
		f.stream(w, r, evs, k.gate)
	case "/embeddings":
		n := 1
		if in := gjson.GetBytes(body, "input"); in.IsArray() {
			n = len(in.Array())
		}
		vecs := make([][]float32, n)
		for i := range vecs {
			vecs[i] = []float32{0.1, -0.2, 0.3, float32(i)}
		}
		writeJSON(w, 200, openaiwire.Embeddings(model, vecs, gjson.GetBytes(body, "encoding_format").String() == "base64", 5))
	default:
		writeJSON(w, 404, openaiwire.Error("unknown path "+r.URL.Path, "invalid_request_error", "not_found", nil))
	}
}

func (k knobs) split() []string {
	if len(k.pieces) > 0 {
		return k.pieces
	}
	var out []string
	for _, w := range strings.SplitAfter(k.answer, " ") {
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// stream writes events one by one, flushing each, waiting on the gate
// between them, and reports a client that went away.
func (f *Fake) stream(w http.ResponseWriter, r *http.Request, evs [][]byte, gate chan struct{}) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	rc := http.NewResponseController(w)
	for i, ev := range evs {
		if i > 0 && gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				f.Canceled <- r.URL.Path
				return
			}
		}
		if _, err := w.Write(ev); err != nil {
			f.Canceled <- r.URL.Path
			return
		}
		if err := rc.Flush(); err != nil {
			f.Canceled <- r.URL.Path
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(b))
}

// MustJSON encodes v for tests.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
