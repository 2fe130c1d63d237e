package segment

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/store"
)

// PathPrefix is where the tracking API is mounted: SDKs take
// http://HOST/ingest as their endpoint and append /v1/batch and friends.
const PathPrefix = "/ingest/"

// SourceHTTP is the source recorded on traits and events that arrive
// through the tracking API.
const SourceHTTP = "segment"

// DefaultMaxBatchBytes is Segment's own limit on one request.
const DefaultMaxBatchBytes = 512_000

// Options are the tracking API's dependencies.
type Options struct {
	// Workspace receives everything the write keys send.
	Workspace string
	// WriteKeys are accepted as the Basic auth user (or the body's writeKey,
	// as analytics.js sends it from browsers). None means every call is 401.
	WriteKeys []string
	// MaxBatchBytes caps a body, after gzip; 0 means DefaultMaxBatchBytes.
	MaxBatchBytes int64
	Store         Store
	// Invalidator is told about every customer and account written; nil
	// when nothing caches them.
	Invalidator Invalidator
	Log         zerolog.Logger
	// Now is the clock that stamps receivedAt; nil means time.Now.
	Now func() time.Time
}

// Handler serves the Segment HTTP Tracking API.
type Handler struct {
	opts   Options
	keys   [][sha256.Size]byte
	recent *recent
}

// recentIDs bounds the in-process dedupe of identify and group calls: a
// day of retries at a few hundred calls a minute.
const recentIDs = 100_000

// New builds the handler.
func New(opts Options) *Handler {
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, recent: newRecent(recentIDs)}
	for _, k := range opts.WriteKeys {
		if k != "" {
			h.keys = append(h.keys, sha256.Sum256([]byte(k)))
		}
	}
	return h
}

// endpoints maps the path after /v1/ to the type it implies; batch is "".
// The one-letter names are analytics.js's.
var endpoints = map[string]string{
	"identify": typeIdentify, "i": typeIdentify,
	"group": typeGroup, "g": typeGroup,
	"track": typeTrack, "t": typeTrack,
	"page": typePage, "p": typePage,
	"screen": typeScreen, "s": typeScreen,
	"alias": typeAlias, "a": typeAlias,
	"batch": "", "b": "", "import": "",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.Now()
	n, err := h.serve(r)
	if err != nil {
		e := asError(err)
		ev := h.opts.Log.Info()
		if e.Status >= 500 {
			ev = h.opts.Log.Error().AnErr("cause", e.Cause)
		}
		ev.Str("path", r.URL.Path).Int("status", e.Status).Str("code", e.Code).Msg("ingest refused")
		writeError(w, e)
		return
	}
	h.opts.Log.Debug().Str("path", r.URL.Path).Int("messages", n).Dur("took", h.opts.Now().Sub(start)).Msg("ingested")
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"success":true}`)
}

// serve stores one request's messages and returns how many it held.
func (h *Handler) serve(r *http.Request) (int, error) {
	name, ok := strings.CutPrefix(r.URL.Path, PathPrefix+"v1/")
	typ, known := endpoints[name]
	if !ok || !known {
		return 0, errNotFound(r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return 0, errMethod(r.Method)
	}
	user, _, hasAuth := r.BasicAuth()
	if hasAuth && !h.validKey(user) {
		return 0, errWriteKey()
	}
	body, err := h.readBody(r)
	if err != nil {
		if !hasAuth {
			return 0, errWriteKey() // say nothing about the body to an unknown caller
		}
		return 0, err
	}
	if !hasAuth && !h.validKey(gjson.GetBytes(body, "writeKey").String()) {
		return 0, errWriteKey()
	}
	received := h.opts.Now().UTC()
	var msgs []message
	if name == "batch" || name == "b" || name == "import" {
		msgs, err = parseBatch(body, received)
	} else {
		var m message
		m, err = parseMessage(body, typ, clock{received: received, skew: true})
		if err != nil {
			err = errBadRequest("body: %v; nothing was stored.", err)
		}
		msgs = []message{m}
	}
	if err != nil {
		return 0, err
	}
	return len(msgs), h.store(r.Context(), msgs, received)
}

func (h *Handler) validKey(k string) bool {
	if k == "" {
		return false
	}
	sum := sha256.Sum256([]byte(k))
	ok := 0
	for i := range h.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], h.keys[i][:])
	}
	return ok == 1
}

// readBody reads at most MaxBatchBytes, after gzip when the client
// compressed (analytics-python and analytics-node can).
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	limit := h.opts.MaxBatchBytes
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	var src io.Reader = r.Body
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, errBadRequest("Body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, errBadRequest("Content-Encoding %q is not supported; send gzip or no encoding.", clip(enc))
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	switch {
	case int64(len(body)) > limit:
		return nil, errTooLarge(limit)
	case err != nil && enc == "gzip":
		return nil, errBadRequest("Body is not valid gzip: %v", err)
	case err != nil:
		return nil, errBadRequest("Could not read the body: %v", err)
	}
	return body, nil
}

// wireBatch is the body of /v1/batch.
type wireBatch struct {
	Batch  []*wireMessage `json:"batch"`
	SentAt string         `json:"sentAt"`
}

// parseBatch validates every message of a batch and names each bad one. It
// decodes the body in one pass; only when that fails does it decode again,
// message by message, to say which one is at fault.
func parseBatch(body []byte, received time.Time) ([]message, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errBadRequest("Body must be a JSON object with a batch list.")
	}
	var wb wireBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&wb); err != nil {
		return nil, findProblems(body, err, received)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errBadRequest("Body has data after the JSON object.")
	}
	if wb.Batch == nil {
		return nil, errBadRequest("Body has no batch list.")
	}
	sent, err := parseTime("sentAt", wb.SentAt)
	if err != nil {
		return nil, errBadRequest("Body %v", err)
	}
	c := clock{received: received, sentAt: sent, skew: true}
	msgs := make([]message, 0, len(wb.Batch))
	var problems []string
	for i, w := range wb.Batch {
		if w == nil {
			problems = append(problems, fmt.Sprintf("batch[%d]: must be a JSON object", i))
			continue
		}
		m, err := w.normalize(w.Type, c)
		if err != nil {
			problems = append(problems, fmt.Sprintf("batch[%d]: %v", i, err))
			continue
		}
		msgs = append(msgs, m)
	}
	if len(problems) > 0 {
		return nil, errBadRequest("%s; nothing of the batch was stored.", summarize(problems))
	}
	return msgs, nil
}

// findProblems explains why a batch did not decode: the body's syntax, or
// which messages have the wrong shape.
func findProblems(body []byte, cause error, received time.Time) error {
	var wb struct {
		Batch  []json.RawMessage `json:"batch"`
		SentAt json.RawMessage   `json:"sentAt"`
	}
	if err := json.Unmarshal(body, &wb); err != nil {
		return errBadRequest("Body %v", decodeProblem(err))
	}
	var s string
	if len(wb.SentAt) > 0 && json.Unmarshal(wb.SentAt, &s) != nil && string(wb.SentAt) != "null" {
		return errBadRequest("Body sentAt must be a string.")
	}
	var problems []string
	for i, raw := range wb.Batch {
		if _, err := parseMessage(raw, "", clock{received: received}); err != nil {
			problems = append(problems, fmt.Sprintf("batch[%d]: %v", i, err))
		}
	}
	if len(problems) == 0 {
		return errBadRequest("Body %v", decodeProblem(cause))
	}
	return errBadRequest("%s; nothing of the batch was stored.", summarize(problems))
}

// summarize lists the first few problems and counts the rest.
func summarize(problems []string) string {
	const show = 5
	if len(problems) <= show {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(problems[:show], "; "), len(problems)-show)
}

// store writes the messages as one batch, skipping identify and group calls
// this process stored already.
func (h *Handler) store(ctx context.Context, msgs []message, received time.Time) error {
	ws := h.opts.Workspace
	b := newBuilder(SourceHTTP, received)
	keep := msgs[:0]
	var seen []string
	for _, m := range msgs {
		if m.typ == typeIdentify || m.typ == typeGroup {
			key := ws + "\x00" + m.id
			if h.recent.has(key) {
				continue
			}
			seen = append(seen, key)
		}
		keep = append(keep, m)
	}
	b.addAll(keep)
	if b.empty() {
		return nil
	}
	if _, err := h.opts.Store.Apply(ctx, ws, b.batch); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return errBadRequest("Batch refused: %v; nothing of it was stored.", err)
		}
		return errInternal(err)
	}
	h.recent.add(seen)
	b.invalidate(h.opts.Invalidator, ws)
	return nil
}
