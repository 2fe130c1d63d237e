package proxy

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// newRequestID is a random id for correlating a request's log line, audit
// record and response. It is not a secret, so a fast generator will do.
func newRequestID() string {
	var b [12]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return "req_" + hex.EncodeToString(b[:])
}

// logRequest writes the one line per request: who, what, where, how it
// ended, how long. Never a key, a prompt or an answer.
func (s *Server) logRequest(r *Request, err error) {
	lvl := s.log.Info()
	if r.Status >= 500 {
		lvl = s.log.Warn()
	}
	ev := lvl.Str("request_id", r.ID).
		Str("endpoint", string(r.Endpoint)).
		Int("status", r.Status).
		Bool("stream", r.Stream).
		Float64("latency_ms", msf(time.Since(r.Start))).
		Int64("bytes_in", r.BytesIn).
		Int64("bytes_out", r.BytesOut)
	if r.Caller != nil {
		ev = ev.Str("key_id", r.Caller.KeyID).Str("action", r.Action)
	}
	if r.Model != "" {
		ev = ev.Str("model", r.Model)
	}
	if r.Route.Provider != nil {
		ev = ev.Str("provider", r.Route.Provider.Name())
	}
	if r.TTFB > 0 {
		ev = ev.Float64("ttfb_ms", msf(r.TTFB))
	}
	if r.Usage != (Usage{}) {
		ev = ev.Int64("tokens_in", r.Usage.Input).Int64("tokens_out", r.Usage.Output)
	}
	if r.ErrCode != "" {
		ev = ev.Str("code", r.ErrCode)
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Cause != nil {
			cause := []byte(e.Cause.Error())
			if r.Route.Provider != nil {
				cause = scrub(r, cause)
			}
			ev = ev.Str("cause", string(cause))
		}
	}
	ev.Msg("request")
}

// msf is a duration in milliseconds with microsecond precision.
func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
