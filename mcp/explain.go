package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
)

type explainIn struct {
	Action        string `json:"action" jsonschema:"what to explain: a tool name such as get_customer_context (the action ai.agent.get_customer_context) or an AI action such as ai.draft"`
	Field         string `json:"field,omitempty" jsonschema:"a catalog field to explain, e.g. account.privateRevenue"`
	CustomerID    string `json:"customer_id,omitempty" jsonschema:"the customer the action would be about, e.g. usr_2481"`
	UserHash      string `json:"user_hash,omitempty" jsonschema:"the customer's identity proof, as for the other tools"`
	IdentityToken string `json:"identity_token,omitempty" jsonschema:"the customer's identity token, instead of user_hash"`
	AccountID     string `json:"account_id,omitempty" jsonschema:"one of the customer's accounts; default: their first"`
}

// FieldAccess says why a field resolves as it does for an action.
type FieldAccess struct {
	Name           string `json:"name"`
	Visibility     string `json:"visibility" jsonschema:"shown, masked or hidden for the action"`
	CatalogDefault string `json:"catalog_default" jsonschema:"the catalog's default for the action's use: show, mask or hide"`
	Classification string `json:"classification"`
	Owner          string `json:"owner" jsonschema:"who owns the field's definition: ask them about a change"`
	Note           string `json:"note,omitempty"`
	Why            string `json:"why"`
	ToChange       string `json:"to_change,omitempty" jsonschema:"what would have to change for the field to be shown"`
}

type explainOut struct {
	Action         string       `json:"action"`
	CustomerID     string       `json:"customer_id,omitempty"`
	SignedIdentity bool         `json:"signed_identity"`
	Identity       string       `json:"identity,omitempty" jsonschema:"why the customer identity did not verify"`
	Decision       string       `json:"decision" jsonschema:"allow or deny"`
	Rule           string       `json:"rule"`
	Location       string       `json:"location,omitempty" jsonschema:"the deciding rule's file and line"`
	Message        string       `json:"message"`
	Explanation    []string     `json:"explanation" jsonschema:"each candidate rule and the clause that failed, then the decision"`
	ToAllow        []string     `json:"to_allow,omitempty" jsonschema:"what would have to change for a denied action to be allowed"`
	Field          *FieldAccess `json:"field,omitempty"`
	Masked         []string     `json:"masked_fields" jsonschema:"fields masked for the action"`
	Hidden         []string     `json:"hidden_fields" jsonschema:"fields hidden for the action"`
	AuditID        string       `json:"audit_id"`
}

func (t *tools) explain(ctx context.Context, req *sdk.CallToolRequest, in explainIn) (explainOut, error) {
	u, err := t.workspaceUse(ctx, req.Extra, ToolExplainAccess)
	if err != nil {
		return explainOut{}, err
	}
	g, err := t.s.opts.Proxy.GovernWorkspace(ctx, u)
	if err != nil {
		return explainOut{}, t.refusal(err, u)
	}
	out, err := t.decide(ctx, u.Caller, in)
	if out.AuditID, err = g.End(ctx, nil, err); err != nil {
		return explainOut{}, t.refusal(err, u)
	}
	return out, nil
}

// decide asks the policy about the action as the caller, for the customer
// with the identity the arguments prove. A decision names visibilities,
// never values.
func (t *tools) decide(ctx context.Context, caller *keys.Caller, in explainIn) (explainOut, error) {
	action := strings.TrimSpace(in.Action)
	if action == "" {
		return explainOut{}, badRequest("action", "Name the action to explain, e.g. get_customer_context or ai.draft.")
	}
	if !strings.Contains(action, ".") {
		action = ActionPrefix + action // a tool's name
	}
	out := explainOut{Action: action, CustomerID: strings.TrimSpace(in.CustomerID)}
	cr := proxy.CheckRequest{Customer: out.CustomerID, Account: in.AccountID, Action: action}
	if cr.Customer != "" {
		a := t.s.opts.Proxy.VerifyIdentity(cr.Customer, in.UserHash, in.IdentityToken)
		cr.SignedIdentity, out.SignedIdentity = a.Verified, a.Verified
		if !a.Verified {
			out.Identity = a.Reason
		}
	}
	d, err := t.s.opts.Proxy.CheckAs(ctx, caller, cr)
	if errors.Is(err, identity.ErrNotMember) {
		return explainOut{}, badRequest("account_id", "The customer %q does not belong to the account %q.", cr.Customer, cr.Account)
	}
	if err != nil {
		return explainOut{}, err
	}
	out.Decision, out.Rule, out.Location, out.Message = d.Verdict(), d.Rule, d.Location, d.Message()
	out.Explanation, out.ToAllow = nonNil(d.Explanation), d.ToAllow
	out.Masked, out.Hidden = nonNil(d.Fields.With(catalog.Mask)), nonNil(d.Fields.With(catalog.Hide))
	if !caller.MayUse(action) {
		// The key's own list is checked before the policy is asked.
		msg := fmt.Sprintf("The key %s may not use the action %q.", caller.KeyID, action)
		out.Decision, out.Rule, out.Location, out.Message = "deny", "key actions", "", msg
		out.Explanation = append([]string{msg}, out.Explanation...)
		out.ToAllow = append([]string{"the key's actions must include " + action + " (crisp keys)"}, out.ToAllow...)
	}
	if f := strings.TrimSpace(in.Field); f != "" {
		out.Field = t.fieldAccess(d, action, f)
	}
	return out, nil
}

// fieldAccess explains one field's visibility from the decision and the
// catalog. The policy names no statement per field, so it says which of
// the two set it when they differ.
func (t *tools) fieldAccess(d policy.Decision, action, field string) *FieldAccess {
	def := t.s.opts.Catalog.Resolve(field)
	vis := d.Fields.Visibility(field)
	dflt := def.Uses.For(action)
	use := catalog.UseOf(action)
	fa := &FieldAccess{Name: field, Visibility: vis.String(), CatalogDefault: dflt.Verb(),
		Classification: string(def.Classification), Owner: def.Owner, Note: def.Note}
	switch {
	case def.Uncataloged:
		fa.Why = field + " is not in the catalog, and what nobody has defined is hidden from every use."
		fa.ToChange = "Define " + field + " in the catalog (type, owner, classification and per-use visibility)."
		return fa
	case vis == dflt:
		fa.Why = fmt.Sprintf("%s is %s for %s: the catalog's default for the %s use is %s (owner %s, %s data).",
			field, vis, action, use, dflt.Verb(), def.Owner, def.Classification)
	default:
		fa.Why = fmt.Sprintf("%s is %s for %s: a policy field statement overrides the catalog's default for the %s use (%s).",
			field, vis, action, use, dflt.Verb())
	}
	if vis != catalog.Show {
		fa.ToChange = fmt.Sprintf("Only a reviewed change to the workspace definitions can show it: the catalog's %s use "+
			"for %s (ask its owner, %s) and any policy statement that hides or masks it for %s. Tools cannot change it.",
			use, field, def.Owner, action)
	}
	return fa
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
