package proxy

import (
	"context"
	"errors"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
)

// VerifyIdentity checks a customer identity that came in some other way
// than headers — an MCP tool's customer_id, user_hash and identity_token
// arguments — with the verifier the X-Crisp-User-* headers are checked
// with. Without a verifier nothing verifies.
func (s *Server) VerifyIdentity(userID, userHash, token string) identity.Assurance {
	if s.opts.Verifier == nil {
		return identity.Assurance{Method: identity.MethodNone, Reason: "no identity verifier is configured"}
	}
	return s.opts.Verifier.Verify(userID, userHash, token)
}

// GovernWorkspace is Govern for a use that names no customer by design — a
// search of the customer directory, the catalog, a policy explanation. The
// key and the policy decide it (with no customer, signedIdentity is false),
// what it returns is redacted by the detectors, and it is audited; no
// customer is resolved, so the caller must filter what it returns by
// Governed.Visibility itself.
func (s *Server) GovernWorkspace(ctx context.Context, u Use) (*Governed, error) {
	if u.CustomerID != "" || u.AccountID != "" {
		return nil, errInvalidRequest("", "The action %q names no customer; use Govern for one that does.", u.Action)
	}
	return s.govern(ctx, u, "authenticate", "policy")
}

// CheckAs is Check for the caller behind a key rather than a member named
// by email, so a workflow key (which has no member) can ask too. It decides
// the policy only: the key's own action list (Caller.MayUse) is the
// caller's to check.
func (s *Server) CheckAs(ctx context.Context, c *keys.Caller, cr CheckRequest) (policy.Decision, error) {
	if c == nil {
		return policy.Decision{}, errors.New("no caller")
	}
	r := &Request{Caller: c, Action: cr.Action}
	if r.Action == "" {
		r.Action = actionGeneral
	}
	r.Identity.Verified = cr.SignedIdentity
	if cr.SignedIdentity {
		r.Identity.Method = identity.MethodHMAC
	}
	r.Route.Model = cr.Model
	if cr.Customer != "" {
		var err error
		if r.Subject, err = s.opts.Resolver.Resolve(ctx, c.Workspace, cr.Customer, cr.Account); err != nil {
			return policy.Decision{}, err
		}
	}
	return s.opts.Policy.Decide(s.policyInput(r)), nil
}
