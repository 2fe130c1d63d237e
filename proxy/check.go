package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
)

// CheckRequest asks what the policy would decide, without an AI call: the
// body of POST /api/v1/policy/check and the flags of `crisp policy explain`.
type CheckRequest struct {
	Member         string `json:"member"`   // the member's email
	Customer       string `json:"customer"` // the customer's id; empty for ai.general
	Account        string `json:"account,omitempty"`
	Action         string `json:"action"`
	SignedIdentity bool   `json:"signed_identity"`
	Model          string `json:"model,omitempty"`
}

// Members finds a workspace member by email, as policy sees them.
type Members interface {
	Member(ctx context.Context, ws, email string) (*keys.Caller, error)
}

// ErrUnknownMember means no member has that email.
var ErrUnknownMember = errors.New("unknown member")

// Check decides a CheckRequest the way the pipeline would decide the real
// request, with the customer as the store knows them.
func (s *Server) Check(ctx context.Context, ws string, cr CheckRequest) (policy.Decision, error) {
	if s.opts.Members == nil {
		return policy.Decision{}, errors.New("no member directory")
	}
	caller, err := s.opts.Members.Member(ctx, ws, cr.Member)
	if err != nil {
		return policy.Decision{}, err
	}
	r := &Request{Caller: caller, Action: cr.Action}
	if r.Action == "" {
		r.Action = actionGeneral
	}
	r.Identity.Verified = cr.SignedIdentity
	if cr.SignedIdentity {
		r.Identity.Method = "hmac"
	}
	r.Route.Model = cr.Model
	if cr.Customer != "" {
		if r.Subject, err = s.opts.Resolver.Resolve(ctx, ws, cr.Customer, cr.Account); err != nil {
			return policy.Decision{}, err
		}
	}
	return s.opts.Policy.Decide(s.policyInput(r)), nil
}

// serveCheck is POST /api/v1/policy/check: any key of the workspace may ask,
// since a decision names visibilities, never values.
func (s *Server) serveCheck(w http.ResponseWriter, hr *http.Request) {
	caller, err := s.caller(hr.Context(), hr)
	if err != nil {
		writeError(w, dialectOpenAI, asError(err))
		return
	}
	var cr CheckRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &cr)
	}
	if err != nil || cr.Member == "" {
		writeError(w, dialectOpenAI, errInvalidRequest("", `The body must be JSON like {"member":"maya@acme.example","customer":"usr_2481","action":"ai.draft","signed_identity":true}.`))
		return
	}
	d, err := s.Check(hr.Context(), caller.Workspace, cr)
	switch {
	case errors.Is(err, ErrUnknownMember):
		writeError(w, dialectOpenAI, &Error{Status: 404, Type: "invalid_request_error", Code: "not_found", Param: "member",
			Message: "No member " + cr.Member + " in this workspace."})
		return
	case err != nil:
		writeError(w, dialectOpenAI, asError(err))
		return
	}
	out, err := json.Marshal(d)
	if err != nil {
		writeError(w, dialectOpenAI, errInternal(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}
