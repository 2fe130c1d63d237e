package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// ErrUnknown means no key matches what was presented.
var ErrUnknown = errors.New("unknown or revoked key")

// Source finds stored keys by prefix (keys made with `crisp keys create`).
type Source interface {
	KeysByPrefix(ctx context.Context, prefix string) ([]Record, error)
}

// Authenticator finds the caller behind a presented key. Configured keys are
// held in memory; stored keys are looked up by prefix and cached briefly, so
// a key made or revoked while the server runs takes effect within CacheTTL.
type Authenticator struct {
	static map[string][]Record
	source Source
	cache  *ristretto.Cache[string, []Record]
	ttl    time.Duration
}

// CacheTTL bounds how long a stored key's lookup (or its absence) is reused.
const CacheTTL = 30 * time.Second

// NewAuthenticator indexes the configured records; source may be nil.
func NewAuthenticator(static []Record, source Source) (*Authenticator, error) {
	a := &Authenticator{static: map[string][]Record{}, source: source, ttl: CacheTTL}
	for _, r := range static {
		a.static[r.Prefix] = append(a.static[r.Prefix], r)
	}
	if source != nil {
		c, err := ristretto.NewCache(&ristretto.Config[string, []Record]{
			NumCounters: 20_000, MaxCost: 2_000, BufferItems: 64,
			IgnoreInternalCost: true, // cost counts entries, not bytes
		})
		if err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		a.cache = c
	}
	return a, nil
}

// Close releases the cache.
func (a *Authenticator) Close() {
	if a.cache != nil {
		a.cache.Close()
	}
}

// Authenticate returns the caller for key. Every candidate is compared in
// constant time; the prefix only narrows the search.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (*Caller, error) {
	if key == "" {
		return nil, ErrUnknown
	}
	prefix := Prefix(key)
	for i := range a.static[prefix] {
		if r := &a.static[prefix][i]; r.Matches(key) {
			return &r.Caller, nil
		}
	}
	if a.source == nil {
		return nil, ErrUnknown
	}
	recs, ok := a.cache.Get(prefix)
	if !ok {
		var err error
		recs, err = a.source.KeysByPrefix(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("look up key: %w", err)
		}
		a.cache.SetWithTTL(prefix, recs, 1, a.ttl)
	}
	for i := range recs {
		if recs[i].Matches(key) {
			return &recs[i].Caller, nil
		}
	}
	return nil, ErrUnknown
}

// FromHeaders extracts a presented key: Authorization: Bearer (OpenAI
// clients) or x-api-key (Anthropic clients).
func FromHeaders(authorization, xAPIKey string) string {
	if k, ok := strings.CutPrefix(authorization, "Bearer "); ok {
		return strings.TrimSpace(k)
	}
	if k, ok := strings.CutPrefix(authorization, "bearer "); ok {
		return strings.TrimSpace(k)
	}
	return strings.TrimSpace(xAPIKey)
}
