package proxy

import (
	"context"
	"errors"

	"github.com/crisphq/crisp/identity"
)

// The headers that name the customer a request is about.
const (
	headerUserID    = "X-Crisp-User-Id"
	headerUserHash  = "X-Crisp-User-Hash"
	headerToken     = "X-Crisp-Identity-Token"
	headerAccountID = "X-Crisp-Account-Id"
)

func errIdentityUnverified(reason string) *Error {
	return &Error{Status: 403, Type: "permission_error", Code: "identity_unverified",
		Message: "The customer identity could not be verified: " + reason}
}

// identify verifies the signed customer identity, when the request names a
// customer, and resolves the customer and account. An unsigned or wrongly
// signed identity goes on unverified, for policy to decide, unless the
// workspace requires signatures.
func (s *Server) identify(ctx context.Context, r *Request) error {
	if u := r.use; u != nil {
		return s.identifyUse(ctx, r, u)
	}
	h := r.HTTP.Header
	userID, hash, token := h.Get(headerUserID), h.Get(headerUserHash), h.Get(headerToken)
	if userID == "" && token == "" {
		if r.Action != actionGeneral {
			return errInvalidRequest("", "The action %q is about a customer: name one with %s.", r.Action, headerUserID)
		}
		return nil
	}
	if r.Action == actionGeneral {
		// A customer named for general use would get no context and no
		// customer rules; refuse rather than guess.
		return errInvalidRequest("", "The action ai.general names no customer; send %s with a customer action such as ai.draft.", headerUserID)
	}
	if s.opts.Verifier == nil {
		return errInternal(errors.New("no identity verifier configured"))
	}
	r.Identity = s.opts.Verifier.Verify(userID, hash, token)
	if !r.Identity.Verified && s.opts.RequireSigned {
		return errIdentityUnverified(r.Identity.Reason)
	}
	if userID == "" {
		userID = r.Identity.Subject // the token names the customer
	}
	return s.resolve(ctx, r, userID, h.Get(headerAccountID))
}

// resolve finds the customer and account a request is about.
func (s *Server) resolve(ctx context.Context, r *Request, customerID, accountID string) error {
	sub, err := s.opts.Resolver.Resolve(ctx, r.Caller.Workspace, customerID, accountID)
	if errors.Is(err, identity.ErrNotMember) {
		return errInvalidRequest("", "The customer %q does not belong to the account %q.", customerID, accountID)
	}
	if err != nil {
		// The store failed: nothing about this customer can be decided, so
		// nothing goes out (fail closed).
		return &Error{Status: 503, Type: "api_error", Code: "unavailable",
			Message: "Crisp cannot resolve the customer right now; nothing was sent to a provider.", Cause: err}
	}
	r.Subject = sub
	return nil
}

// identifyUse takes the customer a use from crisp's own doors names; their
// identity was verified where the use came in (a signed header on the API,
// the conversation's identity in the inbox).
func (s *Server) identifyUse(ctx context.Context, r *Request, u *Use) error {
	if u.CustomerID == "" {
		if r.Action != actionGeneral {
			return errInvalidRequest("", "The action %q is about a customer: name one.", r.Action)
		}
		return nil
	}
	r.Identity = u.Identity
	if !r.Identity.Verified && s.opts.RequireSigned {
		return errIdentityUnverified(r.Identity.Reason)
	}
	return s.resolve(ctx, r, u.CustomerID, u.AccountID)
}
