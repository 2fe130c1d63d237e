package providers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crisphq/crisp/config"
)

// upstream is what every HTTP provider shares: a base URL, a key, extra
// headers and a tuned client. Dialects differ only in how they build URLs
// and send the key.
type upstream struct {
	name     string
	typ      string
	base     string // without trailing slash
	key      string
	headers  http.Header
	client   *http.Client
	timeouts Timeouts

	// The headers every request starts from ([0] without a body, [1]
	// with), made on first use: a dialect may add to headers after
	// newUpstream. Cloning one costs two allocations, setting each
	// header one or more.
	tmplOnce sync.Once
	tmpl     [2]http.Header
	bearerV  []string // the Authorization value, "Bearer KEY"
}

func newUpstream(p config.Provider, defaultBase string) (*upstream, error) {
	base := p.BaseURL
	if base == "" {
		base = defaultBase
	}
	client, err := newClient(p)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", p.Name, err)
	}
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	return &upstream{
		name: p.Name, typ: p.Type, base: strings.TrimRight(base, "/"), key: p.APIKey.Value(),
		headers: h, client: client,
		timeouts: Timeouts{FirstByte: p.Timeouts.FirstByte, Idle: p.Timeouts.Idle},
	}, nil
}

// newClient builds a client that verifies certificates (with the provider's
// CA file added to the system's) and keeps enough idle connections for a
// busy gateway; Go's default of two per host would redial under load.
func newClient(p config.Provider) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", p.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	connect := p.Timeouts.Connect
	if connect == 0 {
		connect = 10 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   connect,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Crisp reads and rewrites bodies; compressed upstream answers would
		// need decoding first, so ask for identity.
		DisableCompression: true,
	}
	var rt http.RoundTripper = tr
	if peekSupported {
		rt = &h1Transport{dial: tr.DialContext, proxy: tr.Proxy, next: tr,
			maxIdle: tr.MaxIdleConnsPerHost, idleTimeout: tr.IdleConnTimeout}
	}
	// No client timeout: streams run long; the proxy bounds each phase.
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // never replay a prompt to somewhere else
	}}, nil
}

func (u *upstream) Name() string         { return u.name }
func (u *upstream) Type() string         { return u.typ }
func (u *upstream) Client() *http.Client { return u.client }
func (u *upstream) Timeouts() Timeouts   { return u.timeouts }

// request builds a POST (or GET when body is nil) with JSON headers and the
// configured extra headers.
func (u *upstream) request(ctx context.Context, url string, body []byte) (*http.Request, error) {
	method := http.MethodPost
	var rd io.Reader
	if body == nil {
		method = http.MethodGet
	} else {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("provider %s: build request: %w", u.name, err)
	}
	u.tmplOnce.Do(u.makeTemplates)
	if body != nil {
		req.Header = u.tmpl[1].Clone()
	} else {
		req.Header = u.tmpl[0].Clone()
	}
	return req, nil
}

func (u *upstream) makeTemplates() {
	for i := range u.tmpl {
		h := http.Header{}
		if i == 1 {
			h.Set("Content-Type", "application/json")
		}
		h.Set("Accept", "application/json, text/event-stream")
		h.Set("User-Agent", "crisp")
		for k, v := range u.headers {
			h[k] = v
		}
		u.tmpl[i] = h
	}
	u.bearerV = []string{"Bearer " + u.key}
}

// bearer is the OpenAI-style request: base/endpoint with Authorization: Bearer.
func (u *upstream) bearer(ctx context.Context, c Call) (*http.Request, error) {
	req, err := u.request(ctx, u.base+"/"+string(c.Endpoint), bodyOrNil(c))
	if err != nil {
		return nil, err
	}
	if u.key != "" {
		// Shared by every request: net/http never writes to it, and a
		// caller that sets the header replaces the slice.
		req.Header["Authorization"] = u.bearerV
	}
	return req, nil
}

func bodyOrNil(c Call) []byte {
	if c.Endpoint == Models {
		return nil
	}
	return c.Body
}

// listModels asks an OpenAI-style /models endpoint.
func (u *upstream) listModels(ctx context.Context, req *http.Request) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := u.client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("provider %s: list models: %w", u.name, ScrubError(err, u.key))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("provider %s: list models: status %d", u.name, resp.StatusCode)
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("provider %s: list models: %w", u.name, err)
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// Scrub removes this provider's key from b.
func (u *upstream) Scrub(b []byte) []byte { return Scrub(b, u.key) }

// Scrub removes a provider key from text that may reach a caller or a log:
// upstream error bodies sometimes echo the key they were given.
func Scrub(b []byte, key string) []byte {
	if len(key) < 4 || !bytes.Contains(b, []byte(key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(key), []byte("[provider key]"))
}

// ScrubError is Scrub for error text; the error chain is kept when clean.
func ScrubError(err error, key string) error {
	if err == nil || len(key) < 4 || !strings.Contains(err.Error(), key) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), key, "[provider key]"))
}
