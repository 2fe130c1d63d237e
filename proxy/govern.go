package proxy

import (
	"context"
	"net/http"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/policy"
)

// Governed is one use of customer data that is not an LLM call — an MCP
// tool reading a journey, a search, an explanation — held to the same
// rules: the caller's key, the customer's identity, a policy decision,
// redaction of what goes back, and one audit record.
type Governed struct {
	s *Server
	r *Request
}

// Govern authenticates the use, resolves its customer (if any) and asks the
// policy. A refusal is recorded and returned as an *Error; otherwise the
// caller does its work with the result and then calls End.
func (s *Server) Govern(ctx context.Context, u Use) (*Governed, error) {
	return s.govern(ctx, u, "authenticate", "identity", "policy")
}

// govern runs the named stages for a use, opens its redaction session, and
// records a refusal.
func (s *Server) govern(ctx context.Context, u Use, stages ...string) (*Governed, error) {
	r := s.useRequest(ctx, u, u.Endpoint)
	err := s.runStages(ctx, r, stages...)
	if err == nil {
		err = s.newRedaction(r)
	}
	if err != nil {
		e := asError(err)
		r.Status, r.ErrCode = e.Status, e.Code
		if aerr := s.auditEnd(ctx, r); aerr != nil {
			e = asError(aerr)
		}
		s.logRequest(r, err)
		return nil, e
	}
	return &Governed{s: s, r: r}, nil
}

// Decision is the policy's answer for the use.
func (g *Governed) Decision() policy.Decision { return g.r.Decision }

// Subject is the customer and account the use is about (nil for none).
func (g *Governed) Subject() *identity.Subject { return g.r.Subject }

// Visibility is what a field resolves to for this use.
func (g *Governed) Visibility(field string) catalog.Visibility {
	return g.r.Decision.Fields.Visibility(field)
}

// Redact cleans text bound for the caller: hidden values and detected
// secrets removed, masked values shown only where the member may see them.
func (g *Governed) Redact(text string) string { return g.r.redaction.Answer(text, g.s.mayReveal) }

// End records the use's outcome (the fields it returned, its status) and
// returns the audit id; an error means the result must not be given.
func (g *Governed) End(ctx context.Context, fields []string, err error) (string, error) {
	r := g.r
	r.ContextFields = fields
	r.Redactions = r.redaction.Manifest()
	r.Status = http.StatusOK
	if err != nil {
		e := asError(err)
		r.Status, r.ErrCode = e.Status, e.Code
	}
	aerr := g.s.auditEnd(ctx, r)
	g.s.logRequest(r, err)
	if aerr != nil {
		return "", aerr
	}
	return r.AuditID, err
}
