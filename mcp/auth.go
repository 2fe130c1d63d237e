package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/keys"
)

type callerKey struct{}

// callerExtra is where the caller rides in the SDK's TokenInfo, which the
// SDK hands to every tool and resource handler of the request.
const callerExtra = "crisp_caller"

// requireKey authenticates every HTTP request by its crisp key, as the MCP
// authorization spec has a resource server do with a bearer token: a
// missing or unknown key is 401 with a WWW-Authenticate challenge. The
// key's id becomes the SDK's user id, so a session opened with one key
// cannot be used with another.
func (s *Server) requireKey(next http.Handler) http.Handler {
	verified := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		c, ok := ctx.Value(callerKey{}).(*keys.Caller)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: c.KeyID, Extra: map[string]any{callerExtra: c}}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := keys.FromHeaders(r.Header.Get("Authorization"), "")
		caller, err := s.opts.Keys.Authenticate(r.Context(), key)
		switch {
		case errors.Is(err, keys.ErrUnknown):
			challenge(w, key == "")
			return
		case err != nil:
			// The key store failed: fail closed, and say it is ours.
			s.opts.Log.Error().Err(err).Msg("mcp: check key")
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "Crisp cannot check keys right now.")
			return
		}
		next := r.WithContext(context.WithValue(r.Context(), callerKey{}, caller))
		verified.ServeHTTP(w, next)
	})
}

// challenge answers 401 per RFC 6750: no error code when no key was sent,
// invalid_token when one was and it is unknown.
func challenge(w http.ResponseWriter, missing bool) {
	v := `Bearer realm="crisp"`
	if !missing {
		v += `, error="invalid_token", error_description="unknown or revoked crisp key"`
	}
	w.Header().Set("WWW-Authenticate", v)
	writeJSONError(w, http.StatusUnauthorized, "invalid_api_key",
		"Incorrect or missing crisp API key. Send it as 'Authorization: Bearer <key>'.")
}

// writeJSONError answers in the shape of crisp's other APIs.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// callerOf is who is calling a tool: the caller of the stdio session's key,
// checked again on every call so a revoked key stops working as it does
// over HTTP, or the caller the request's key named.
func (t *tools) callerOf(ctx context.Context, extra *sdk.RequestExtra) (*keys.Caller, error) {
	if t.key != "" {
		c, err := t.s.opts.Keys.Authenticate(ctx, t.key)
		if errors.Is(err, keys.ErrUnknown) {
			return nil, toolErr("invalid_api_key: the crisp key this server was started with is unknown or revoked.")
		}
		if err != nil {
			t.s.opts.Log.Error().Err(err).Msg("mcp: check key")
			return nil, toolErr("unavailable: Crisp cannot check keys right now.")
		}
		return c, nil
	}
	if extra != nil && extra.TokenInfo != nil {
		if c, ok := extra.TokenInfo.Extra[callerExtra].(*keys.Caller); ok {
			return c, nil
		}
	}
	// Unreachable behind requireKey; refuse rather than guess.
	return nil, errors.New("no authenticated caller")
}
