package proxy

import (
	"context"
	"crypto/sha256"
	"hash"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/sse"
)

// Auditor records AI uses; *audit.Log is the real one.
type Auditor interface {
	BeginAsync(ctx context.Context, r audit.Record) (id string, wait func() error)
	Finish(ctx context.Context, id string, r audit.Record) error
	Append(ctx context.Context, r audit.Record) (string, error)
}

func errAuditUnavailable(cause error) *Error {
	return &Error{Status: 503, Type: "api_error", Code: "audit_unavailable",
		Message: "Crisp cannot record this AI use right now, so it was not made (no audit, no AI use).", Cause: cause}
}

// auditBegin writes the durable "about to send" record, the last thing
// before the provider is called: a crash after it still leaves a trace.
// The write overlaps with building the upstream call; forward waits for it
// before the first byte goes out.
func (s *Server) auditBegin(ctx context.Context, r *Request) error {
	if s.opts.Audit == nil {
		return nil
	}
	sum := sha256.Sum256(r.Out)
	r.reqSum = audit.HexSum(&sum)
	id, wait := s.opts.Audit.BeginAsync(ctx, s.record(r))
	r.AuditID, r.auditWait = id, wait
	r.Header.Set("X-Crisp-Audit-Id", id)
	return nil
}

// auditReady waits for the intent to be durable.
func (s *Server) auditReady(r *Request) error {
	if r.auditWait == nil {
		return nil
	}
	err := r.auditWait()
	r.auditWait = nil
	if err != nil {
		if s.opts.AuditFailOpen {
			s.log.Warn().Err(err).Str("request_id", r.ID).Msg("audit failed; going on because audit.fail_open is set")
			r.AuditID = ""
			r.Header.Del("X-Crisp-Audit-Id")
			return nil
		}
		r.AuditID = ""
		r.Header.Del("X-Crisp-Audit-Id")
		return errAuditUnavailable(err)
	}
	return nil
}

// auditEnd records how the use ended, before the caller sees the end of it:
// it finishes the intent, or appends a record for a use refused before any
// provider call. A request with no known caller (a bad key) is no AI use.
func (s *Server) auditEnd(ctx context.Context, r *Request) error {
	if s.opts.Audit == nil || r.audited || r.Caller == nil {
		return nil
	}
	r.audited = true
	if r.respHash != nil {
		var sum [sha256.Size]byte
		r.respHash.Sum(sum[:0])
		r.respSum = audit.HexSum(&sum)
	}
	rec := s.record(r)
	// The use ends whether or not the client is still there to see it.
	ctx = context.WithoutCancel(ctx)
	var err error
	if r.AuditID != "" {
		err = s.opts.Audit.Finish(ctx, r.AuditID, rec)
	} else {
		var id string
		if id, err = s.opts.Audit.Append(ctx, rec); err == nil {
			r.AuditID = id
			r.Header.Set("X-Crisp-Audit-Id", id)
		}
	}
	if err != nil && s.opts.AuditFailOpen {
		s.log.Warn().Err(err).Str("request_id", r.ID).Msg("audit failed; going on because audit.fail_open is set")
		return nil
	}
	if err != nil {
		return errAuditUnavailable(err)
	}
	return nil
}

// record is the audit record of the request as it stands: who, what,
// about whom, under which decision, what left, and how it ended. It holds
// names, counts and hashes, never a value.
func (s *Server) record(r *Request) audit.Record {
	rec := audit.Record{
		Time: r.Start, Kind: audit.KindAIUse, Workspace: s.opts.Workspace, RequestID: r.ID,
		Endpoint: r.HTTP.URL.Path, Stream: r.Stream, Action: r.Action,
		Identity:       audit.Identity{Verified: r.Identity.Verified, Method: r.Identity.Method, KeyID: r.Identity.KeyID},
		CatalogVersion: s.opts.CatalogVersion,
		ContextFields:  r.ContextFields, Redactions: r.Redactions,
		Model: r.Route.Model, Flags: r.Flags, Contractual: r.Contractual,
		Status: r.Status, ErrorCode: r.ErrCode,
		Usage:     audit.Usage{Input: r.Usage.Input, Output: r.Usage.Output},
		LatencyMS: msf(s.now().Sub(r.Start)), TTFTMS: msf(r.TTFB),
		ResponseSHA256: r.respSum,
	}
	if r.use != nil && r.use.Endpoint != "" {
		rec.Endpoint = r.use.Endpoint // the door the use came in by
	}
	if r.Caller != nil {
		rec.Workspace, rec.KeyID, rec.Member, rec.Role = r.Caller.Workspace, r.Caller.KeyID, r.Caller.Member, r.Caller.Role
	}
	if r.Subject != nil {
		rec.CustomerID, rec.AccountID = r.Subject.Customer.ID, r.Subject.Account.ID
	}
	if r.Route.Provider != nil {
		rec.Provider = r.Route.Provider.Name()
	}
	if r.Decision.Rule != "" {
		rec.Decision = audit.Decision{Allow: r.Decision.Allow, Rule: r.Decision.Rule, Location: r.Decision.Location,
			PolicyVersion: r.Decision.PolicyVersion}
	}
	rec.RequestSHA256 = r.reqSum
	return rec
}

// terminal reports the event that completes a stream in each dialect: the
// caller must not see it before the use's record is durable.
func terminal(ev *sse.Event) bool {
	switch ev.Name {
	case "response.completed", "response.failed", "response.incomplete", "message_stop":
		return true
	}
	return ev.Name == "" && string(ev.Data) == "[DONE]"
}

// answerHash hashes what the caller is sent, for the audit: nil when
// there is no audit, which would never read it.
func (s *Server) answerHash() hash.Hash {
	if s.opts.Audit == nil {
		return nil
	}
	return sha256.New()
}

// hashAnswer sets r's answer hash to that of a whole answer b.
func (s *Server) hashAnswer(r *Request, b []byte) {
	if r.respHash = s.answerHash(); r.respHash != nil {
		r.respHash.Write(b)
	}
}
