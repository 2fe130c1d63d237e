package providers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers/openaiwire"
)

// OfflineModel is the model name the offline provider lists.
const OfflineModel = "crisp-offline"

// offline answers in-process, deterministically, from what it was sent. It
// is the demo and test default when no real provider is configured, and
// every answer says plainly that no model wrote it.
type offline struct {
	client *http.Client
	now    func() time.Time
}

// NewOffline returns the built-in offline provider.
func NewOffline(now func() time.Time) Provider {
	o := &offline{now: now}
	o.client = &http.Client{Transport: o}
	return o
}

func (o *offline) Name() string         { return "offline" }
func (o *offline) Type() string         { return "offline" }
func (o *offline) Client() *http.Client { return o.client }
func (o *offline) Timeouts() Timeouts {
	return Timeouts{FirstByte: 10 * time.Second, Idle: 10 * time.Second}
}

func (o *offline) NewRequest(ctx context.Context, c Call) (*http.Request, error) {
	method, body := http.MethodPost, io.Reader(bytes.NewReader(c.Body))
	if c.Endpoint == Models {
		method, body = http.MethodGet, nil
	}
	return http.NewRequestWithContext(ctx, method, "http://offline.crisp.invalid/v1/"+string(c.Endpoint), body)
}

func (o *offline) ListModels(context.Context) ([]string, error) { return []string{OfflineModel}, nil }

// RoundTrip makes the answer. It is instant, so a stream is built whole;
// the proxy still forwards it event by event.
func (o *offline) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	endpoint := strings.TrimPrefix(req.URL.Path, "/v1/")
	model := gjson.GetBytes(body, "model").String()
	created := o.now().Unix()
	id := fmt.Sprintf("%x", sha256.Sum256(body))[:24]
	answer := offlineAnswer(body)
	u := openaiwire.Usage{Prompt: approxTokens(len(body)), Completion: approxTokens(len(answer))}
	stream := gjson.GetBytes(body, "stream").Bool()

	switch Endpoint(endpoint) {
	case ChatCompletions:
		if !stream {
			return jsonResponse(req, openaiwire.ChatCompletion("chatcmpl-"+id, model, created, answer, u)), nil
		}
		var sb bytes.Buffer
		for _, c := range openaiwire.ChatChunks("chatcmpl-"+id, model, created, words(answer), u,
			gjson.GetBytes(body, "stream_options.include_usage").Bool()) {
			sb.WriteString("data: ")
			sb.Write(c)
			sb.WriteString("\n\n")
		}
		sb.WriteString("data: [DONE]\n\n")
		return sseResponse(req, sb.Bytes()), nil
	case Responses:
		if !stream {
			return jsonResponse(req, openaiwire.ResponseJSON("resp_"+id, model, created, answer, u)), nil
		}
		var sb bytes.Buffer
		for _, ev := range openaiwire.ResponseEvents("resp_"+id, model, created, words(answer), u) {
			fmt.Fprintf(&sb, "event: %s\ndata: %s\n\n", ev.Name, ev.Data)
		}
		return sseResponse(req, sb.Bytes()), nil
	case Embeddings:
		inputs := embeddingInputs(body)
		vecs := make([][]float32, len(inputs))
		for i, in := range inputs {
			vecs[i] = offlineVector(in)
		}
		b64 := gjson.GetBytes(body, "encoding_format").String() == "base64"
		return jsonResponse(req, openaiwire.Embeddings(model, vecs, b64, approxTokens(len(body)))), nil
	case Models:
		return jsonResponse(req, openaiwire.ModelList([]openaiwire.Model{{ID: OfflineModel, Object: "model", OwnedBy: "crisp"}})), nil
	}
	return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(openaiwire.Error("offline provider does not serve "+endpoint, "invalid_request_error", "not_found", nil))),
		Request: req}, nil
}

// offlineAnswer says it is offline and shows what it was given: the context
// crisp attached (the system text) and the last thing the caller said.
func offlineAnswer(body []byte) string {
	var system, last string
	if msgs := gjson.GetBytes(body, "messages"); msgs.Exists() {
		msgs.ForEach(func(_, m gjson.Result) bool {
			text := contentText(m.Get("content"))
			switch m.Get("role").String() {
			case "system", "developer":
				system = text
			case "user":
				last = text
			}
			return true
		})
	} else {
		system = gjson.GetBytes(body, "instructions").String()
		in := gjson.GetBytes(body, "input")
		if in.Type == gjson.String {
			last = in.String()
		} else {
			in.ForEach(func(_, m gjson.Result) bool {
				if m.Get("role").String() == "user" {
					last = contentText(m.Get("content"))
				}
				return true
			})
		}
	}
	var b strings.Builder
	b.WriteString("Crisp is offline: no LLM provider is configured, so this reply was written by crisp itself, not by a model.")
	if system != "" {
		b.WriteString(" Context it was given: ")
		b.WriteString(clip(system, 600))
	}
	if last != "" {
		b.WriteString(" Your last message: \"")
		b.WriteString(clip(last, 300))
		b.WriteString("\"")
	}
	return b.String()
}

func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.String()
	}
	var parts []string
	c.ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("text"); t.Exists() {
			parts = append(parts, t.String())
		}
		return true
	})
	return strings.Join(parts, " ")
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// words splits an answer into stream pieces that concatenate back to it.
func words(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s[1:], ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func embeddingInputs(body []byte) []string {
	in := gjson.GetBytes(body, "input")
	if in.IsArray() {
		var out []string
		in.ForEach(func(_, v gjson.Result) bool { out = append(out, v.Raw); return true })
		return out
	}
	return []string{in.String()}
}

// offlineVector is a deterministic unit vector of 64 dimensions from text.
func offlineVector(text string) []float32 {
	v := make([]float32, 64)
	var norm float64
	for i := range 8 {
		h := sha256.Sum256([]byte(fmt.Sprintf("%d:%s", i, text)))
		for j := range 8 {
			x := float64(int32(binary.LittleEndian.Uint32(h[4*j:]))) / math.MaxInt32
			v[i*8+j] = float32(x)
			norm += x * x
		}
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(norm))
	}
	return v
}

// approxTokens is the common four-bytes-a-token estimate; offline answers
// need a plausible usage block, not a tokenizer.
func approxTokens(n int) int { return (n + 3) / 4 }

func jsonResponse(req *http.Request, b []byte) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(b)),
		Body: io.NopCloser(bytes.NewReader(b)), Request: req}
}

func sseResponse(req *http.Request, b []byte) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/event-stream"}}, ContentLength: -1,
		Body: io.NopCloser(bytes.NewReader(b)), Request: req}
}
