package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

// ConversationStore is what the conversations API reads and writes.
type ConversationStore interface {
	CreateConversation(ctx context.Context, c store.Conversation) (store.Conversation, error)
	AppendMessage(ctx context.Context, ws, conv string, m store.Message) (store.Message, error)
	UpdateConversation(ctx context.Context, ws, id string, u store.ConversationUpdate) (store.Conversation, error)
	Conversation(ctx context.Context, ws, id string) (store.Conversation, error)
	ListConversations(ctx context.Context, ws string, f store.ConversationFilter) ([]store.Conversation, string, error)
}

// IdentityProof is how a new conversation proves who its customer is.
type IdentityProof struct {
	CustomerID, UserHash, Token string
}

// ConversationOptions are the conversations API's dependencies.
type ConversationOptions struct {
	Keys  Authenticator
	Store ConversationStore
	// Verify checks a signed customer identity (identity.Verifier behind
	// it): a conversation is identity-verified only when its creator
	// presents the customer's user hash or identity token and it checks
	// out. method is hmac or jwt.
	Verify func(p IdentityProof) (verified bool, method string)
	// AuditExists reports whether an audit record of the workspace exists,
	// so a message can only link a real AI use; nil skips the check.
	AuditExists  func(ctx context.Context, ws, id string) (bool, error)
	MaxBodyBytes int64
	Log          zerolog.Logger
}

// NewConversations serves the conversations API, authenticated with a
// crisp key (Bearer):
//
//	GET   /api/v1/conversations                  ?status=&customer=&account=&limit=&cursor=
//	                                             → {"conversations":[…],"next_cursor":"…"} most recently active first
//	POST  /api/v1/conversations                  {"id"?, "customer_id", "account_id", "channel", "subject",
//	                                              "user_hash"|"identity_token", "messages":[{"author","text","at"}]}
//	                                             → {"conversation":{…}}
//	GET   /api/v1/conversations/{id}             → {"conversation":{…, "messages":[…]}}
//	PATCH /api/v1/conversations/{id}             {"status","outcome","csat","assignee"} → {"conversation":{…}}
//	POST  /api/v1/conversations/{id}/messages    {"author","text","audit_id","member"} → {"message":{…}}
//
// Any key of the workspace may read. Members may append their own agent
// replies and change status and outcome; only workflow keys (the support
// tool's integration) and admins may create conversations or append the
// customer's messages. audit_id links a reply to the AI draft or answer it
// used and must name an audit record of the workspace.
func NewConversations(opts ConversationOptions) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	h := &Handler{opts: Options{Keys: opts.Keys, MaxBodyBytes: opts.MaxBodyBytes, Log: opts.Log}, mux: http.NewServeMux()}
	c := &conversations{h: h, opts: opts}
	c.route("/api/v1/conversations", map[string]endpoint{http.MethodGet: c.list, http.MethodPost: c.create})
	c.route("/api/v1/conversations/{id}", map[string]endpoint{http.MethodGet: c.get, http.MethodPatch: c.update})
	c.route("/api/v1/conversations/{id}/messages", map[string]endpoint{http.MethodPost: c.appendMessage})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errNotFound(r.URL.Path)) })
	return h
}

type conversations struct {
	h    *Handler
	opts ConversationOptions
}

// route is Handler.route without its write rule: members write here too.
func (c *conversations) route(pattern string, methods map[string]endpoint) {
	c.h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ep, ok := methods[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(slices.Sorted(maps.Keys(methods)), ", "))
			c.h.fail(w, r, errMethod(r.Method, r.URL.Path))
			return
		}
		caller, err := c.h.authenticate(r)
		if err != nil {
			c.h.fail(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, c.opts.MaxBodyBytes)
		v, err := ep(r, caller)
		if err != nil {
			c.h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

type conversationResponse struct {
	Conversation store.Conversation `json:"conversation"`
}

type conversationList struct {
	Conversations []store.Conversation `json:"conversations"`
	NextCursor    string               `json:"next_cursor"`
}

type messageIn struct {
	Author  string    `json:"author"`
	Text    string    `json:"text"`
	AuditID string    `json:"audit_id"`
	Member  string    `json:"member"`
	At      time.Time `json:"at"`
}

type createIn struct {
	ID            string      `json:"id"`
	CustomerID    string      `json:"customer_id"`
	AccountID     string      `json:"account_id"`
	Channel       string      `json:"channel"`
	Subject       string      `json:"subject"`
	UserHash      string      `json:"user_hash"`
	IdentityToken string      `json:"identity_token"`
	Assignee      string      `json:"assignee"`
	Messages      []messageIn `json:"messages"`
}

type updateIn struct {
	Status   *string `json:"status"`
	Outcome  *string `json:"outcome"`
	CSAT     *int    `json:"csat"`
	Assignee *string `json:"assignee"`
}

// integration: workflow keys and admins speak for the support tool.
func integration(c *keys.Caller) bool { return mayWrite(c) }

func (c *conversations) list(r *http.Request, caller *keys.Caller) (any, error) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "status", "customer", "account", "limit", "cursor":
		default:
			return nil, errBadRequest("Unknown parameter %q (known: status, customer, account, limit, cursor).", k)
		}
	}
	f := store.ConversationFilter{Status: q.Get("status"), CustomerID: q.Get("customer"), AccountID: q.Get("account"),
		Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxLimit {
			return nil, errBadRequest("limit must be a number from 1 to %d.", store.MaxLimit)
		}
		f.Limit = n
	}
	page, next, err := c.opts.Store.ListConversations(r.Context(), caller.Workspace, f)
	if err != nil {
		return nil, storeError(err, "conversations")
	}
	return conversationList{Conversations: page, NextCursor: next}, nil
}

func (c *conversations) get(r *http.Request, caller *keys.Caller) (any, error) {
	conv, err := c.opts.Store.Conversation(r.Context(), caller.Workspace, r.PathValue("id"))
	if err != nil {
		return nil, storeError(err, "conversation "+r.PathValue("id"))
	}
	return conversationResponse{conv}, nil
}

func (c *conversations) create(r *http.Request, caller *keys.Caller) (any, error) {
	if !integration(caller) {
		return nil, errForbidden("Conversations come in through the support tool: creating one needs a workflow key or an admin key.")
	}
	var in createIn
	if err := readJSON(r, &in, true); err != nil {
		return nil, err
	}
	if in.CustomerID == "" {
		return nil, errBadRequest("customer_id is required.")
	}
	if in.ID == "" {
		in.ID = NewConversationID()
	}
	conv := store.Conversation{WorkspaceID: caller.Workspace, ID: in.ID, CustomerID: in.CustomerID,
		AccountID: in.AccountID, Channel: in.Channel, Subject: in.Subject, Assignee: in.Assignee}
	if (in.UserHash != "" || in.IdentityToken != "") && c.opts.Verify != nil {
		ok, method := c.opts.Verify(IdentityProof{CustomerID: in.CustomerID, UserHash: in.UserHash, Token: in.IdentityToken})
		if !ok {
			return nil, &Error{Status: http.StatusForbidden, Code: "identity_unverified",
				Message: "The customer's user_hash or identity_token does not verify for customer_id."}
		}
		conv.IdentityVerified, conv.IdentityMethod = true, method
	}
	for _, m := range in.Messages {
		msg, err := c.message(r.Context(), caller, m)
		if err != nil {
			return nil, err
		}
		conv.Messages = append(conv.Messages, msg)
	}
	out, err := c.opts.Store.CreateConversation(r.Context(), conv)
	if errors.Is(err, store.ErrExists) {
		return nil, &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("Conversation %s already exists.", in.ID)}
	}
	if err != nil {
		return nil, storeError(err, "conversation")
	}
	return conversationResponse{out}, nil
}

// message checks who may say what: a member posts only their own agent
// replies; the support tool's integration posts either side.
func (c *conversations) message(ctx context.Context, caller *keys.Caller, in messageIn) (store.Message, error) {
	m := store.Message{Author: in.Author, Text: in.Text, AuditID: in.AuditID, Member: in.Member, At: in.At}
	if m.Author == "" {
		m.Author = store.AuthorAgent
	}
	if !integration(caller) {
		if m.Author != store.AuthorAgent {
			return m, errForbidden("A member key may only post agent replies; customer messages come from the support tool's workflow key.")
		}
		m.Member = caller.Member
		m.At = time.Time{}
	}
	if m.Author == store.AuthorCustomer && m.AuditID != "" {
		return m, errBadRequest("audit_id links an agent's reply to the AI use it drew on; a customer message has none.")
	}
	if m.AuditID != "" && c.opts.AuditExists != nil {
		ok, err := c.opts.AuditExists(ctx, caller.Workspace, m.AuditID)
		if err != nil {
			return m, errInternal(err)
		}
		if !ok {
			return m, errBadRequest("audit_id %q names no audit record of this workspace.", m.AuditID)
		}
	}
	return m, nil
}

func (c *conversations) appendMessage(r *http.Request, caller *keys.Caller) (any, error) {
	var in messageIn
	if err := readJSON(r, &in, true); err != nil {
		return nil, err
	}
	m, err := c.message(r.Context(), caller, in)
	if err != nil {
		return nil, err
	}
	out, err := c.opts.Store.AppendMessage(r.Context(), caller.Workspace, r.PathValue("id"), m)
	if err != nil {
		return nil, storeError(err, "conversation "+r.PathValue("id"))
	}
	return struct {
		Message store.Message `json:"message"`
	}{out}, nil
}

func (c *conversations) update(r *http.Request, caller *keys.Caller) (any, error) {
	var in updateIn
	if err := readJSON(r, &in, true); err != nil {
		return nil, err
	}
	out, err := c.opts.Store.UpdateConversation(r.Context(), caller.Workspace, r.PathValue("id"),
		store.ConversationUpdate{Status: in.Status, Outcome: in.Outcome, CSAT: in.CSAT, Assignee: in.Assignee})
	if err != nil {
		return nil, storeError(err, "conversation "+r.PathValue("id"))
	}
	return conversationResponse{out}, nil
}

// NewConversationID returns a fresh conversation id: "cnv_" and 16 hex digits.
func NewConversationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "cnv_" + hex.EncodeToString(b[:])
}
