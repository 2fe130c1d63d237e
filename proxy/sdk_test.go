package proxy_test

// End-to-end tests with real OpenAI client SDKs: the official openai-go and
// sashabaranov/go-openai talk to a real crisp in front of the fake provider.
// What the SDKs parse is the contract; raw-HTTP tests cannot catch a shape
// an SDK rejects.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	goopenai "github.com/sashabaranov/go-openai"
	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

const (
	badKey    = "ck_not_a_key_at_all"
	sdkPrompt = "How many seats does the trial include?"
)

// sdkEnv is a crisp in front of a fake provider, and an HTTP client that
// records every response the SDKs read, so leaks can be checked at the end.
type sdkEnv struct {
	fake  *providertest.Fake
	crisp *servertest.Crisp
	hc    *http.Client
	rec   *recorder
}

// startSDK starts the fake (after knobs) and crisp; at cleanup it checks
// that the provider key reached no response and no log line.
func startSDK(t *testing.T, knobs ...func(*providertest.Fake)) *sdkEnv {
	t.Helper()
	fake := providertest.New()
	t.Cleanup(fake.Close)
	for _, k := range knobs {
		k(fake)
	}
	e := &sdkEnv{fake: fake, rec: &recorder{}}
	t.Cleanup(func() { checkLogs(t, e.crisp) }) // after crisp stopped: shutdown lines too
	e.crisp = servertest.Start(t, servertest.Config(fake.URL(), ""))
	tr := http.DefaultTransport.(*http.Transport).Clone()
	e.rec.next = tr
	e.hc = &http.Client{Transport: e.rec, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if b := e.rec.bytes(); bytes.Contains(b, []byte(servertest.ProviderKey)) {
			t.Errorf("the provider key reached a caller:\n%s", b)
		}
	})
	return e
}

func (e *sdkEnv) openaiGo(key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(e.crisp.URL+"/v1/"),
		option.WithAPIKey(key),
		option.WithHTTPClient(e.hc),
		option.WithMaxRetries(0), // a retry would hide what crisp answered first
	)
}

func (e *sdkEnv) goOpenAI(key string) *goopenai.Client {
	cfg := goopenai.DefaultConfig(key)
	cfg.BaseURL = e.crisp.URL + "/v1"
	cfg.HTTPClient = e.hc
	return goopenai.NewClientWithConfig(cfg)
}

// recorder is a RoundTripper that keeps every response's status, headers
// and body as the client reads them.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	buf  bytes.Buffer
	sent []byte // the last request body, as the SDK wrote it
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.sent = b
		r.mu.Unlock()
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	head.WriteString(resp.Status + "\n")
	_ = resp.Header.Write(&head)
	_, _ = r.Write(head.Bytes())
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, r), resp.Body}
	return resp, nil
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) lastSent() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.buf.Bytes())
}

// checkUpstream asserts every request the fake got carried the provider's
// key and none of the callers' keys, anywhere.
func checkUpstream(t *testing.T, fake *providertest.Fake) {
	t.Helper()
	got := fake.Received()
	if len(got) == 0 {
		t.Error("the fake provider received nothing")
	}
	for _, rc := range got {
		if a := rc.Header.Get("Authorization"); a != "Bearer "+servertest.ProviderKey {
			t.Errorf("%s %s: upstream Authorization = %q, want the provider key", rc.Method, rc.Path, a)
		}
		var hdr bytes.Buffer
		_ = rc.Header.Write(&hdr)
		for _, k := range []string{servertest.SupportKey, servertest.SalesKey, servertest.RestrictedKey, badKey} {
			if bytes.Contains(hdr.Bytes(), []byte(k)) || bytes.Contains(rc.Body, []byte(k)) {
				t.Errorf("%s %s: a crisp key reached the provider", rc.Method, rc.Path)
			}
		}
	}
}

func checkLogs(t *testing.T, c *servertest.Crisp) {
	t.Helper()
	if c == nil {
		return
	}
	if logs := c.Logs.String(); strings.Contains(logs, servertest.ProviderKey) {
		t.Errorf("the provider key reached crisp's log:\n%s", logs)
	}
}

// checkLast asserts the fake's last request went to path with this model
// and stream flag.
func checkLast(t *testing.T, fake *providertest.Fake, path, model string, stream bool) {
	t.Helper()
	last := fake.Last()
	if last.Path != path {
		t.Fatalf("upstream path = %q, want %q", last.Path, path)
	}
	if m := gjson.GetBytes(last.Body, "model").String(); m != model {
		t.Errorf("upstream model = %q, want %q", m, model)
	}
	if s := gjson.GetBytes(last.Body, "stream").Bool(); s != stream {
		t.Errorf("upstream stream = %v, want %v", s, stream)
	}
}

func sdkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// textCall makes one chat or Responses call through an SDK and returns the
// text the SDK assembled; a stream must end cleanly.
type textCall func(ctx context.Context, model string) (string, error)

func ogChat(c openai.Client, stream bool) textCall {
	return func(ctx context.Context, model string) (string, error) {
		p := openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sdkPrompt)}}
		if !stream {
			r, err := c.Chat.Completions.New(ctx, p)
			if err != nil {
				return "", err
			}
			return r.Choices[0].Message.Content, finished(string(r.Choices[0].FinishReason), r.Model)
		}
		s := c.Chat.Completions.NewStreaming(ctx, p)
		defer s.Close()
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			return "", err
		}
		if len(acc.Choices) != 1 {
			return "", fmt.Errorf("accumulated %d choices", len(acc.Choices))
		}
		return acc.Choices[0].Message.Content, finished(string(acc.Choices[0].FinishReason), acc.Model)
	}
}

func ggChat(c *goopenai.Client, stream bool) textCall {
	return func(ctx context.Context, model string) (string, error) {
		req := goopenai.ChatCompletionRequest{Model: model,
			Messages: []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: sdkPrompt}}}
		if !stream {
			r, err := c.CreateChatCompletion(ctx, req)
			if err != nil {
				return "", err
			}
			return r.Choices[0].Message.Content, finished(string(r.Choices[0].FinishReason), r.Model)
		}
		s, err := c.CreateChatCompletionStream(ctx, req)
		if err != nil {
			return "", err
		}
		defer s.Close()
		var text strings.Builder
		var finish, gotModel string
		for {
			ch, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return text.String(), finished(finish, gotModel) // [DONE]: a clean end
			}
			if err != nil {
				return text.String(), err
			}
			gotModel = ch.Model
			for _, c := range ch.Choices {
				text.WriteString(c.Delta.Content)
				finish = cmp.Or(string(c.FinishReason), finish)
			}
		}
	}
}

// finished checks the answer stopped normally and names the real model,
// never the alias.
func finished(reason, model string) error {
	if reason != "stop" || model != "gpt-4o-mini" {
		return fmt.Errorf("finish reason %q, model %q; want stop, gpt-4o-mini", reason, model)
	}
	return nil
}

func ogResponses(c openai.Client, stream bool) textCall {
	return func(ctx context.Context, model string) (string, error) {
		p := responses.ResponseNewParams{Model: model,
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(sdkPrompt)}}
		if !stream {
			r, err := c.Responses.New(ctx, p)
			if err != nil {
				return "", err
			}
			if r.Status != "completed" || r.Model != "gpt-4o-mini" {
				return "", fmt.Errorf("status %q, model %q", r.Status, r.Model)
			}
			return r.OutputText(), nil
		}
		s := c.Responses.NewStreaming(ctx, p)
		defer s.Close()
		var text strings.Builder
		completed := ""
		for s.Next() {
			switch ev := s.Current(); ev.Type {
			case "response.output_text.delta":
				text.WriteString(ev.Delta)
			case "response.completed":
				completed = ev.Response.OutputText()
			case "error":
				return "", fmt.Errorf("error event: %s", ev.RawJSON())
			}
		}
		if err := s.Err(); err != nil {
			return "", err
		}
		if completed != text.String() {
			return "", fmt.Errorf("response.completed text %q, deltas %q", completed, text.String())
		}
		return text.String(), nil
	}
}

func ggResponses(c *goopenai.Client, stream bool) textCall {
	return func(ctx context.Context, model string) (string, error) {
		req := goopenai.CreateResponseRequest{Model: model, Input: sdkPrompt}
		if !stream {
			r, err := c.CreateResponse(ctx, req)
			if err != nil {
				return "", err
			}
			return r.GetOutputText(), nil
		}
		s, err := c.CreateResponseStream(ctx, req)
		if err != nil {
			return "", err
		}
		defer s.Close()
		var text strings.Builder
		for {
			ev, err := s.Recv()
			switch {
			case errors.Is(err, io.EOF):
				return "", errors.New("the stream ended before response.completed")
			case err != nil:
				return "", err
			case ev.Type == goopenai.ResponseStreamEventOutputTextDelta:
				text.WriteString(ev.Delta)
			case ev.Type == goopenai.ResponseStreamEventError:
				return "", fmt.Errorf("error event: %s", ev.Raw)
			case ev.Type == goopenai.ResponseStreamEventCompleted:
				if _, err := s.Recv(); !errors.Is(err, io.EOF) {
					return "", fmt.Errorf("after response.completed: %v, want the end", err)
				}
				return text.String(), nil
			}
		}
	}
}

type textCase struct {
	name, model string // model as requested; upstream it is always gpt-4o-mini
	stream      bool
	call        textCall
}

// runText runs each case and checks the SDK's text and what the fake got.
func runText(t *testing.T, e *sdkEnv, path string, cases []textCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call(sdkCtx(t), tc.model)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if got != e.fake.Answer {
				t.Errorf("text = %q, want %q", got, e.fake.Answer)
			}
			checkLast(t, e.fake, path, "gpt-4o-mini", tc.stream)
		})
	}
	checkUpstream(t, e.fake)
}

func TestSDKChat(t *testing.T) {
	e := startSDK(t)
	og, gg := e.openaiGo(servertest.SupportKey), e.goOpenAI(servertest.SupportKey)
	runText(t, e, "/v1/chat/completions", []textCase{
		{"openai-go/non-stream", "gpt-4o-mini", false, ogChat(og, false)},
		{"openai-go/non-stream alias", "fast", false, ogChat(og, false)},
		{"openai-go/stream", "fast", true, ogChat(og, true)},
		{"go-openai/non-stream", "fast", false, ggChat(gg, false)},
		{"go-openai/stream", "gpt-4o-mini", true, ggChat(gg, true)},
	})
}

func TestSDKResponses(t *testing.T) {
	e := startSDK(t)
	og, gg := e.openaiGo(servertest.SupportKey), e.goOpenAI(servertest.SupportKey)
	runText(t, e, "/v1/responses", []textCase{
		{"openai-go/non-stream", "fast", false, ogResponses(og, false)},
		{"openai-go/stream", "gpt-4o-mini", true, ogResponses(og, true)},
		{"go-openai/non-stream", "gpt-4o-mini", false, ggResponses(gg, false)},
		{"go-openai/stream", "fast", true, ggResponses(gg, true)},
	})
}

func TestSDKEmbeddings(t *testing.T) {
	e := startSDK(t)
	og, gg := e.openaiGo(servertest.SupportKey), e.goOpenAI(servertest.SupportKey)
	input := []string{"seat limits", "billing"}
	ggEmbed := func(ctx context.Context, format goopenai.EmbeddingEncodingFormat) ([][]float32, error) {
		r, err := gg.CreateEmbeddings(ctx, goopenai.EmbeddingRequest{Input: input,
			Model: goopenai.SmallEmbedding3, EncodingFormat: format})
		if err != nil {
			return nil, err
		}
		out := make([][]float32, len(r.Data))
		for i, d := range r.Data {
			if d.Index != i {
				t.Errorf("data[%d].index = %d", i, d.Index)
			}
			out[i] = d.Embedding
		}
		return out, nil
	}
	cases := []struct {
		name, format string // format: what the SDK is expected to send
		call         func(ctx context.Context) ([][]float32, error)
	}{
		// openai-go's Embedding is []float64 with no base64 decoding, so it
		// asks for floats (the default); the Node test covers base64 decoding.
		{"openai-go/float", "", func(ctx context.Context) ([][]float32, error) {
			r, err := og.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModelTextEmbedding3Small,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: input}})
			if err != nil {
				return nil, err
			}
			out := make([][]float32, len(r.Data))
			for i, d := range r.Data {
				for _, f := range d.Embedding {
					out[i] = append(out[i], float32(f))
				}
			}
			return out, nil
		}},
		{"go-openai/float", "float", func(ctx context.Context) ([][]float32, error) {
			return ggEmbed(ctx, goopenai.EmbeddingEncodingFormatFloat)
		}},
		{"go-openai/base64", "base64", func(ctx context.Context) ([][]float32, error) {
			return ggEmbed(ctx, goopenai.EmbeddingEncodingFormatBase64)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call(sdkCtx(t))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			want := [][]float32{{0.1, -0.2, 0.3, 0}, {0.1, -0.2, 0.3, 1}}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("vectors = %v, want %v", got, want)
			}
			checkLast(t, e.fake, "/v1/embeddings", "text-embedding-3-small", false)
			if f := gjson.GetBytes(e.fake.Last().Body, "encoding_format").String(); f != tc.format {
				t.Errorf("upstream encoding_format = %q, want %q", f, tc.format)
			}
		})
	}
	checkUpstream(t, e.fake)
}

func TestSDKModels(t *testing.T) {
	e := startSDK(t)
	list := map[string]func(ctx context.Context, key string) ([]string, error){
		"openai-go": func(ctx context.Context, key string) (ids []string, _ error) {
			c := e.openaiGo(key)
			it := c.Models.ListAutoPaging(ctx)
			for it.Next() {
				ids = append(ids, it.Current().ID)
			}
			return ids, it.Err()
		},
		"go-openai": func(ctx context.Context, key string) (ids []string, _ error) {
			l, err := e.goOpenAI(key).ListModels(ctx)
			for _, m := range l.Models {
				ids = append(ids, m.ID)
			}
			return ids, err
		},
	}
	cases := []struct {
		name, key string
		want, not []string
	}{
		{"support", servertest.SupportKey, []string{"gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "fast"}, []string{"dall-e-3"}},
		// The alias fast calls gpt-4o-mini, so a key limited to gpt-4o-mini may use it too.
		{"restricted", servertest.RestrictedKey, []string{"gpt-4o-mini", "fast"}, []string{"gpt-4o", "text-embedding-3-small", "dall-e-3"}},
	}
	for _, sdk := range []string{"openai-go", "go-openai"} {
		for _, tc := range cases {
			t.Run(sdk+"/"+tc.name, func(t *testing.T) {
				ids, err := list[sdk](sdkCtx(t), tc.key)
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				for _, w := range tc.want {
					if !slices.Contains(ids, w) {
						t.Errorf("%s missing from %v", w, ids)
					}
				}
				for _, n := range tc.not {
					if slices.Contains(ids, n) {
						t.Errorf("%s listed, though not callable with this key: %v", n, ids)
					}
				}
			})
		}
	}
	checkUpstream(t, e.fake)
}

// apiError reads the status and code from either SDK's error type.
func apiError(t *testing.T, sdk string, err error) (int, string, string) {
	t.Helper()
	switch sdk {
	case "openai-go":
		var e *openai.Error
		if errors.As(err, &e) {
			return e.StatusCode, e.Code, e.Message
		}
	case "go-openai":
		var e *goopenai.APIError
		if errors.As(err, &e) {
			code, _ := e.Code.(string)
			return e.HTTPStatusCode, code, e.Message
		}
	}
	t.Fatalf("%s: error %T (%v) is not the SDK's API error", sdk, err, err)
	return 0, "", ""
}

// sdkCall makes one call through an SDK with a key: a chat completion
// (streamed or not) or, with no model, the model list.
func sdkCall(ctx context.Context, e *sdkEnv, sdk, key, model string, stream bool) error {
	var err error
	switch c, g := e.openaiGo(key), e.goOpenAI(key); {
	case sdk == "openai-go" && model == "":
		_, err = c.Models.List(ctx)
	case sdk == "openai-go":
		_, err = ogChat(c, stream)(ctx, model)
	case model == "":
		_, err = g.ListModels(ctx)
	default:
		_, err = ggChat(g, stream)(ctx, model)
	}
	return err
}

func TestSDKErrors(t *testing.T) {
	e := startSDK(t)
	cases := []struct {
		name, key, model string // model "" lists models
		stream           bool
		status           int
		code             string
	}{
		{"bad key", badKey, "gpt-4o-mini", false, 401, "invalid_api_key"},
		{"bad key stream", badKey, "gpt-4o-mini", true, 401, "invalid_api_key"},
		{"bad key models", badKey, "", false, 401, "invalid_api_key"},
		{"unknown model", servertest.SupportKey, "no-such-model", false, 404, "model_not_found"},
		{"unknown model stream", servertest.SupportKey, "no-such-model", true, 404, "model_not_found"},
		{"model outside the key", servertest.RestrictedKey, "gpt-4o", false, 404, "model_not_found"},
	}
	for _, sdk := range []string{"openai-go", "go-openai"} {
		for _, tc := range cases {
			t.Run(sdk+"/"+tc.name, func(t *testing.T) {
				before := len(e.fake.Received())
				err := sdkCall(sdkCtx(t), e, sdk, tc.key, tc.model, tc.stream)
				if err == nil {
					t.Fatal("call succeeded")
				}
				status, code, msg := apiError(t, sdk, err)
				if status != tc.status || code != tc.code {
					t.Errorf("status %d code %q (%s), want %d %q", status, code, msg, tc.status, tc.code)
				}
				if n := len(e.fake.Received()) - before; n != 0 && tc.model != "" {
					t.Errorf("a refused call reached the provider (%d requests)", n)
				}
			})
		}
	}
}

// TestSDKUpstreamError: a provider's own error reaches the SDK with its
// status and code, and without the provider key it echoed.
func TestSDKUpstreamError(t *testing.T) {
	e := startSDK(t, func(f *providertest.Fake) {
		f.Status = http.StatusTooManyRequests
		f.ErrorBody = `{"error":{"message":"Rate limit reached for key ` + servertest.ProviderKey +
			`.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	})
	for _, sdk := range []string{"openai-go", "go-openai"} {
		for _, stream := range []bool{false, true} {
			t.Run(sdk+"/stream="+map[bool]string{false: "no", true: "yes"}[stream], func(t *testing.T) {
				err := sdkCall(sdkCtx(t), e, sdk, servertest.SupportKey, "gpt-4o-mini", stream)
				if err == nil {
					t.Fatal("call succeeded")
				}
				status, code, msg := apiError(t, sdk, err)
				if status != 429 || code != "rate_limit_exceeded" {
					t.Errorf("status %d code %q, want 429 rate_limit_exceeded", status, code)
				}
				if strings.Contains(msg, servertest.ProviderKey) || !strings.Contains(msg, "Rate limit reached") {
					t.Errorf("message %q: want the provider's message without its key", msg)
				}
			})
		}
	}
}

// TestSDKUnknownFieldsPassThrough: fields crisp does not know, sent with
// each SDK's extra-fields option, reach the provider byte for byte; only an
// alias's model name is rewritten. (errors_test.go covers a raw request.)
func TestSDKUnknownFieldsPassThrough(t *testing.T) {
	e := startSDK(t)
	og, gg := e.openaiGo(servertest.SupportKey), e.goOpenAI(servertest.SupportKey)
	cases := []struct {
		name, model, path string
		field             string // must arrive upstream
		call              func(ctx context.Context, model string) error
	}{
		{"openai-go/WithJSONSet", "fast", "/v1/chat/completions", "x_vendor.tags.1", func(ctx context.Context, m string) error {
			_, err := og.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: m,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(sdkPrompt)}},
				option.WithJSONSet("x_vendor", map[string]any{"depth": 2.5, "tags": []any{"a", nil}}))
			return err
		}},
		{"go-openai/chat_template_kwargs", "gpt-4o-mini", "/v1/chat/completions", "chat_template_kwargs.enable_thinking",
			func(ctx context.Context, m string) error {
				_, err := gg.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: m,
					Messages:           []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: sdkPrompt}},
					ChatTemplateKwargs: map[string]any{"enable_thinking": false}})
				return err
			}},
		{"go-openai/responses ExtraBody", "fast", "/v1/responses", "x_vendor.depth", func(ctx context.Context, m string) error {
			_, err := gg.CreateResponse(ctx, goopenai.CreateResponseRequest{Model: m, Input: sdkPrompt,
				ExtraBody: map[string]any{"x_vendor": map[string]any{"depth": 3}}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(sdkCtx(t), tc.model); err != nil {
				t.Fatalf("call: %v", err)
			}
			sent := string(e.rec.lastSent())
			want := strings.Replace(sent, `"model":"fast"`, `"model":"gpt-4o-mini"`, 1)
			// The one field crisp adds: no storage at the provider.
			want = strings.TrimSuffix(want, "}") + `,"store":false}`
			last := e.fake.Last()
			if last.Path != tc.path {
				t.Fatalf("upstream path %q, want %q", last.Path, tc.path)
			}
			if !gjson.GetBytes(last.Body, tc.field).Exists() {
				t.Errorf("%s missing upstream: %s", tc.field, last.Body)
			}
			// An alias case must have had something to rewrite.
			if string(last.Body) != want {
				t.Errorf("upstream body changed:\n sent %s\n  got %s\n want %s", sent, last.Body, want)
			}
		})
	}
	checkUpstream(t, e.fake)
}
