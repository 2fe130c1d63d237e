package mcp

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/proxy"
)

// ActionPrefix is the family of the tools' actions: tool get_journey is the
// action ai.agent.get_journey.
const ActionPrefix = "ai.agent."

// Tool names.
const (
	ToolGetCustomerContext = "get_customer_context"
	ToolSearchCustomers    = "search_customers"
	ToolGetJourney         = "get_journey"
	ToolDraftReply         = "draft_reply"
	ToolExplainAccess      = "explain_access"
	ToolListCatalogFields  = "list_catalog_fields"
)

// tools holds the handlers of one MCP server.
type tools struct {
	s          *Server
	key        string   // the stdio session's key; empty over HTTP
	custFields []string // the catalog's customer.* fields
}

func newTools(s *Server, key string) *tools {
	t := &tools{s: s, key: key}
	for _, f := range s.opts.Catalog.Fields() {
		if strings.HasPrefix(f.Name, "customer.") {
			t.custFields = append(t.custFields, f.Name)
		}
	}
	return t
}

func (t *tools) register(srv *sdk.Server) {
	readOnly := &sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}
	addTool(srv, &sdk.Tool{Name: ToolGetCustomerContext, Title: "Get customer context", Annotations: readOnly,
		Description: "Get the policy-approved context about one customer and their account: the fields you may see " +
			"(plan, trial day, lifecycle, role, …), which fields are masked, and their recent journey. Hidden fields " +
			"never appear. Use it before answering a question about a customer or drafting a reply."}, t.getContext)
	addTool(srv, &sdk.Tool{Name: ToolSearchCustomers, Title: "Search customers", Annotations: readOnly,
		Description: "Find customers by id or name (query), by exact email, by account id or name, or by a customer " +
			"field's exact value (trait and value). Returns at most 20 customers with only the fields shown to you; " +
			"withheld_fields lists the rest. Then call get_customer_context with a customer's id."}, t.search)
	addTool(srv, &sdk.Tool{Name: ToolGetJourney, Title: "Get customer journey", Annotations: readOnly,
		Description: "Get a customer's recent product events, newest first (e.g. visited pricing, opened billing, " +
			"asked chat), limited to the events the catalog allows for AI."}, t.journey)
	addTool(srv, &sdk.Tool{Name: ToolDraftReply, Title: "Draft a reply",
		Annotations: &sdk.ToolAnnotations{OpenWorldHint: new(true), DestructiveHint: new(false)},
		Description: "Draft the support agent's next reply to a customer from the conversation so far, using only " +
			"the customer's approved context. The draft is not sent: a person reviews it. Keep placeholders such as " +
			"[masked:customer.email#1] as written."}, t.draft)
	addTool(srv, &sdk.Tool{Name: ToolExplainAccess, Title: "Explain access", Annotations: readOnly,
		Description: "Explain why an action is allowed or denied for you (and a customer, if named), which rule " +
			"decided, and what would have to change to allow it; with field, why that field is shown, masked or " +
			"hidden. Call it when another tool is refused. No customer values are returned."}, t.explain)
	addTool(srv, &sdk.Tool{Name: ToolListCatalogFields, Title: "List catalog fields", Annotations: readOnly,
		Description: "List the catalog of customer and account fields and events: what each means, its owner and " +
			"source, how sensitive it is, and whether AI may see it (shown, masked or hidden). No customer data."},
		t.listCatalog)
}

// Customer names the customer a tool is about, as the X-Crisp-User-*
// headers do.
type Customer struct {
	CustomerID    string `json:"customer_id" jsonschema:"the customer's user id in the product, e.g. usr_2481"`
	UserHash      string `json:"user_hash,omitempty" jsonschema:"proof of the customer's identity: lowercase hex HMAC-SHA256 of customer_id under the workspace identity secret, as the support tool provides it (X-Crisp-User-Hash)"`
	IdentityToken string `json:"identity_token,omitempty" jsonschema:"proof of the customer's identity instead of user_hash: a signed identity JWT whose sub is customer_id (X-Crisp-Identity-Token)"`
	AccountID     string `json:"account_id,omitempty" jsonschema:"one of the customer's accounts; default: their first account"`
}

// use is one tool call about a customer, with the identity its arguments
// prove (or do not: an unsigned customer goes on, for policy to decide).
func (t *tools) use(ctx context.Context, extra *sdk.RequestExtra, c Customer, tool string) (proxy.Use, error) {
	caller, err := t.callerOf(ctx, extra)
	if err != nil {
		return proxy.Use{}, err
	}
	c.CustomerID = strings.TrimSpace(c.CustomerID)
	if c.CustomerID == "" {
		return proxy.Use{}, toolErr("invalid_request: name the customer with customer_id (and user_hash or identity_token to prove it).")
	}
	a := t.s.opts.Proxy.VerifyIdentity(c.CustomerID, c.UserHash, c.IdentityToken)
	return proxy.Use{Caller: caller, CustomerID: c.CustomerID, AccountID: c.AccountID, Identity: a,
		Action: ActionPrefix + tool, Endpoint: "mcp:" + tool}, nil
}

// workspaceUse is one tool call that names no customer.
func (t *tools) workspaceUse(ctx context.Context, extra *sdk.RequestExtra, tool string) (proxy.Use, error) {
	caller, err := t.callerOf(ctx, extra)
	if err != nil {
		return proxy.Use{}, err
	}
	return proxy.Use{Caller: caller, Action: ActionPrefix + tool, Endpoint: "mcp:" + tool}, nil
}

// toolErr is a tool error whose text is safe to show the agent.
type toolErr string

func (e toolErr) Error() string { return string(e) }

// refusal turns what the pipeline returned into the agent's tool error: a
// crisp *proxy.Error says its code and message (never its cause); anything
// else is logged and reported without detail.
func (t *tools) refusal(err error, u proxy.Use) error {
	var te toolErr
	if errors.As(err, &te) {
		return te
	}
	var e *proxy.Error
	if !errors.As(err, &e) {
		t.s.opts.Log.Error().Err(err).Str("action", u.Action).Msg("mcp: tool failed")
		return toolErr("internal_error: Crisp failed to handle this call; nothing about the customer was returned.")
	}
	msg := e.Code + ": " + e.Message
	if e.Code == "policy_denied" || e.Code == "identity_unverified" {
		if u.CustomerID != "" && !u.Identity.Verified && u.Identity.Reason != "" {
			msg += " (identity: " + u.Identity.Reason + ")"
		}
		msg = strings.TrimSuffix(msg, ".") + ". Call explain_access with action " + u.Action + " to see what would change it."
	}
	return toolErr(msg)
}

// Event is one step of a customer's journey.
type Event struct {
	Name       string            `json:"name"`
	At         time.Time         `json:"at"`
	Properties map[string]string `json:"properties,omitempty" jsonschema:"the event's properties, redacted"`
}

type contextIn struct {
	Customer
}

type contextOut struct {
	CustomerID string            `json:"customer_id"`
	Action     string            `json:"action"`
	Fields     map[string]string `json:"fields" jsonschema:"the approved field values by catalog name, e.g. account.plan"`
	Masked     []string          `json:"masked" jsonschema:"fields that exist but whose values are withheld from you"`
	Events     []Event           `json:"events" jsonschema:"the recent journey, newest first"`
	AuditID    string            `json:"audit_id" jsonschema:"the audit record of this call"`
}

func (t *tools) getContext(ctx context.Context, req *sdk.CallToolRequest, in contextIn) (contextOut, error) {
	u, err := t.use(ctx, req.Extra, in.Customer, ToolGetCustomerContext)
	if err != nil {
		return contextOut{}, err
	}
	res, err := t.s.opts.Proxy.ContextFor(ctx, u)
	if err != nil {
		return contextOut{}, t.refusal(err, u)
	}
	out := contextOut{CustomerID: u.CustomerID, Action: res.Action, Fields: res.Fields, Masked: res.Masked,
		Events: make([]Event, len(res.Events)), AuditID: res.AuditID}
	for i, e := range res.Events {
		out.Events[i] = Event{Name: e.Name, At: e.At}
	}
	return out, nil
}

type journeyIn struct {
	Customer
	Limit int `json:"limit,omitempty" jsonschema:"how many recent events to return, newest first: 1 to 50 (default 20)"`
}

type journeyOut struct {
	CustomerID string  `json:"customer_id"`
	Events     []Event `json:"events" jsonschema:"the events the catalog allows for AI, newest first"`
	Withheld   int     `json:"withheld" jsonschema:"how many of the recent events were left out because the catalog does not allow them for AI"`
	AuditID    string  `json:"audit_id"`
}

// Journey limits.
const (
	DefaultJourney = 20
	MaxJourney     = 50
)

func (t *tools) journey(ctx context.Context, req *sdk.CallToolRequest, in journeyIn) (journeyOut, error) {
	u, err := t.use(ctx, req.Extra, in.Customer, ToolGetJourney)
	if err != nil {
		return journeyOut{}, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultJourney
	}
	limit = min(limit, MaxJourney)
	g, err := t.s.opts.Proxy.Govern(ctx, u)
	if err != nil {
		return journeyOut{}, t.refusal(err, u)
	}
	sub := g.Subject()
	out := journeyOut{CustomerID: sub.Customer.ID, Events: []Event{}}
	evs, err := t.s.opts.Store.Journey(ctx, u.Caller.Workspace, sub.Customer.ID, limit)
	if err == nil {
		for _, e := range evs {
			def, ok := t.s.opts.Catalog.Event(e.Name)
			if !ok || def.Uses.For(u.Action) != catalog.Show {
				out.Withheld++
				continue
			}
			out.Events = append(out.Events, Event{Name: e.Name, At: e.Timestamp.UTC(), Properties: redactProps(g, e.Properties)})
		}
	}
	if out.AuditID, err = g.End(ctx, nil, err); err != nil {
		return journeyOut{}, t.refusal(err, u)
	}
	return out, nil
}

// redactProps renders an event's properties as text through the use's
// redaction: the catalog governs events, not their properties, so a
// property holding a hidden value must not carry it out.
func redactProps(g interface{ Redact(string) string }, props map[string]any) map[string]string {
	if len(props) == 0 {
		return nil
	}
	out := make(map[string]string, len(props))
	for k, v := range props {
		out[g.Redact(k)] = g.Redact(identity.FormatValue(v))
	}
	return out
}

// Message is one turn of the conversation to draft a reply to.
type Message struct {
	Author string `json:"author" jsonschema:"who wrote it: customer or agent"`
	Text   string `json:"text"`
}

type draftIn struct {
	Customer
	Conversation []Message `json:"conversation" jsonschema:"the conversation so far, oldest first"`
	Tone         string    `json:"tone,omitempty" jsonschema:"the reply's tone, e.g. warm, concise, formal (default friendly and clear)"`
	Language     string    `json:"language,omitempty" jsonschema:"the reply's language as a code such as en or de (default en)"`
	MaxWords     int       `json:"max_words,omitempty" jsonschema:"at most this many words (default 120)"`
}

type draftOut struct {
	Draft         string         `json:"draft" jsonschema:"the suggested reply, for a person to review"`
	ContextFields []string       `json:"context_fields" jsonschema:"the customer fields the draft was written from"`
	Redactions    map[string]int `json:"redactions" jsonschema:"how many values were withheld from the model, by field or detector"`
	AuditID       string         `json:"audit_id"`
}

func (t *tools) draft(ctx context.Context, req *sdk.CallToolRequest, in draftIn) (draftOut, error) {
	u, err := t.use(ctx, req.Extra, in.Customer, ToolDraftReply)
	if err != nil {
		return draftOut{}, err
	}
	if len(in.Conversation) == 0 {
		return draftOut{}, toolErr("invalid_request: a draft needs the conversation so far (conversation).")
	}
	dr := proxy.DraftRequest{Options: proxy.DraftOptions{Tone: in.Tone, Language: in.Language, MaxWords: in.MaxWords}}
	for i, m := range in.Conversation {
		if m.Author != "customer" && m.Author != "agent" {
			return draftOut{}, toolErr("invalid_request: conversation[" + strconv.Itoa(i) + "].author must be customer or agent.")
		}
		dr.Conversation = append(dr.Conversation, proxy.Message{Author: m.Author, Text: m.Text})
	}
	res, err := t.s.opts.Proxy.Draft(ctx, u, dr, nil)
	if err != nil {
		return draftOut{}, t.refusal(err, u)
	}
	return draftOut{Draft: res.Draft, ContextFields: res.ContextFields, Redactions: res.Redactions, AuditID: res.AuditID}, nil
}

// sortedKeys returns a set's members in order.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
