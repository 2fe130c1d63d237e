package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

// Store is what the API reads and writes.
type Store interface {
	Customer(ctx context.Context, ws, id string) (store.Customer, error)
	Account(ctx context.Context, ws, id string) (store.Account, error)
	ListCustomers(ctx context.Context, ws string, opt store.ListOptions) ([]store.Customer, string, error)
	ListAccounts(ctx context.Context, ws string, opt store.ListOptions) ([]store.Account, string, error)
	Journey(ctx context.Context, ws, customerID string, limit int) ([]store.Event, error)
	Apply(ctx context.Context, ws string, b store.Batch) (store.BatchResult, error)
}

// Authenticator finds the caller behind a crisp API key (keys.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (*keys.Caller, error)
}

// Invalidator drops cached customers and accounts after a write
// (identity.Resolver implements it).
type Invalidator interface {
	InvalidateCustomer(ws, id string)
	InvalidateAccount(ws, id string)
}

// Options are the API's dependencies.
type Options struct {
	Keys  Authenticator
	Store Store
	// Catalog decides what each caller sees; nil hides every value from
	// everyone but admins.
	Catalog     *catalog.Catalog
	Invalidator Invalidator // nil when nothing caches customers
	// MaxBodyBytes caps a request body; 0 means 1 MiB.
	MaxBodyBytes int64
	Log          zerolog.Logger
	// Now stamps trait writes that carry no time; nil means time.Now.
	Now func() time.Time
}

// Handler serves /api/v1/customers and /api/v1/accounts.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

// New builds the API.
func New(opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.route("/api/v1/customers", map[string]endpoint{http.MethodGet: h.listCustomers})
	h.route("/api/v1/customers/{id}", map[string]endpoint{http.MethodGet: h.getCustomer, http.MethodPut: h.putCustomer})
	h.route("/api/v1/customers/{id}/traits", map[string]endpoint{http.MethodPatch: h.patchCustomerTraits})
	h.route("/api/v1/customers/{id}/journey", map[string]endpoint{http.MethodGet: h.journey})
	h.route("/api/v1/accounts", map[string]endpoint{http.MethodGet: h.listAccounts})
	h.route("/api/v1/accounts/{id}", map[string]endpoint{http.MethodGet: h.getAccount, http.MethodPut: h.putAccount})
	h.route("/api/v1/accounts/{id}/traits", map[string]endpoint{http.MethodPatch: h.patchAccountTraits})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errNotFound(r.URL.Path)) })
	return h
}

// endpoint answers one request for an authenticated caller with a value to
// send as JSON, or an error for the one place that writes errors.
type endpoint func(r *http.Request, c *keys.Caller) (any, error)

func (h *Handler) route(pattern string, methods map[string]endpoint) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ep, ok := methods[r.Method]
		if !ok {
			allow := slices.Sorted(maps.Keys(methods))
			w.Header().Set("Allow", strings.Join(allow, ", "))
			h.fail(w, r, errMethod(r.Method, r.URL.Path))
			return
		}
		c, err := h.authenticate(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if r.Method != http.MethodGet && !mayWrite(c) {
			h.fail(w, r, errForbidden("This key may read customers and accounts but not change them: writing needs a key with the role admin or a workflow key."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
		v, err := ep(r, c)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) authenticate(r *http.Request) (*keys.Caller, error) {
	key := keys.FromHeaders(r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
	c, err := h.opts.Keys.Authenticate(r.Context(), key)
	switch {
	case errors.Is(err, keys.ErrUnknown):
		return nil, errInvalidKey()
	case err != nil:
		return nil, errInternal(err)
	}
	return c, nil
}

// mayWrite: admins and workflows write; members read.
func mayWrite(c *keys.Caller) bool {
	return c.Role == roleAdmin || c.Kind == store.KeyKindWorkflow
}

// readJSON decodes a body with numbers kept as written.
func readJSON(r *http.Request, v any, strict bool) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge(tooBig.Limit)
		}
		return errBadRequest("Could not read the body: %v", err)
	}
	return decodeJSON(body, v, strict)
}

func decodeJSON(body []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return errBadRequest("Body %s", describe(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("Body has data after the JSON value.")
	}
	return nil
}

// describe turns a decoding error into words about the body.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("field %s must not be %s.", te.Field, te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("must not be %s.", te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("is not valid JSON (byte %d): %v.", se.Offset, err)
	case errors.Is(err, io.EOF):
		return "is empty; send a JSON value."
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "is not valid JSON: it ends too early."
	}
	return fmt.Sprintf("is not valid: %v.", err)
}

// storeError maps a store failure to what the caller is told.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFoundThing(what)
	case errors.Is(err, store.ErrInvalid):
		return errBadRequest("%v", err)
	}
	return errInternal(err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"crisp could not encode the answer","code":"internal_error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
