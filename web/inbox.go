package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/store"
)

type inboxPage struct {
	Filter  string // open, pending, closed, all
	Filters []string
	List    []convItem
	Conv    *convView
	Panel   *panel
	Flash   string
}

type convItem struct {
	ID, Customer, Account, Subject, Preview string
	Status, Outcome, Channel                string
	Verified, Active, FromCustomer          bool
	At                                      time.Time
	CSAT                                    int
}

type convView struct {
	store.Conversation
	Customer string
	Account  string
	Messages []msgView
	Tones    []string
}

type msgView struct {
	store.Message
	Name     string
	Customer bool
}

// maxInbox bounds the list; older conversations stay reachable by link.
const maxInbox = 50

var inboxFilters = []string{"open", "pending", "closed", "all"}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	filter := r.URL.Query().Get("status")
	if filter == "" {
		filter = "open"
	}
	status := filter
	switch filter {
	case "all":
		status = ""
	case "open", "pending", "closed":
	default:
		return errBadRequest("Unknown conversation status " + strconv.Quote(filter) + ".")
	}
	list, _, err := s.opts.Store.ListConversations(ctx, s.opts.Workspace, store.ConversationFilter{Status: status, Limit: maxInbox})
	if err != nil {
		return err
	}
	p := inboxPage{Filter: filter, Filters: inboxFilters, Flash: flash(r)}
	id := r.PathValue("id")
	for _, c := range list {
		sv, err := s.view(ctx, v, c)
		if err != nil {
			return err
		}
		it := convItem{ID: c.ID, Customer: sv.customerName(), Account: sv.accountName(), Subject: c.Subject,
			Status: c.Status, Outcome: c.Outcome, Channel: c.Channel, Verified: c.IdentityVerified, At: c.UpdatedAt,
			CSAT: c.CSAT, Active: c.ID == id}
		if c.LastMessage != nil {
			it.Preview = c.LastMessage.Text
			it.FromCustomer = c.LastMessage.Author == store.AuthorCustomer && c.Status != store.StatusClosed
		}
		p.List = append(p.List, it)
	}
	if id != "" {
		c, err := s.opts.Store.Conversation(ctx, s.opts.Workspace, id)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("No conversation " + id + " in this workspace.")
		}
		if err != nil {
			return err
		}
		if p.Conv, p.Panel, err = s.conversation(ctx, v, c); err != nil {
			return err
		}
	}
	title := "Inbox"
	if p.Conv != nil {
		title = p.Conv.Customer + " · Inbox"
	}
	s.render(w, r, v, http.StatusOK, "inbox", title, p)
	return nil
}

// conversation builds the conversation view and its account panel.
func (s *Server) conversation(ctx context.Context, v *viewer, c store.Conversation) (*convView, *panel, error) {
	sv, err := s.view(ctx, v, c)
	if err != nil {
		return nil, nil, err
	}
	members, err := s.opts.Store.ListMembers(ctx, s.opts.Workspace)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, m := range members {
		names[m.Email] = m.Name
	}
	cv := &convView{Conversation: c, Customer: sv.customerName(), Account: sv.accountName(),
		Tones: []string{"friendly", "concise", "formal"}}
	for _, m := range c.Messages {
		mv := msgView{Message: m, Customer: m.Author == store.AuthorCustomer}
		switch {
		case mv.Customer:
			mv.Name = cv.Customer
		case names[m.Member] != "":
			mv.Name = names[m.Member]
		case m.Member != "":
			mv.Name = m.Member
		default:
			mv.Name = "Agent"
		}
		cv.Messages = append(cv.Messages, mv)
	}
	pn, err := s.panel(ctx, v, c, sv)
	if err != nil {
		return nil, nil, err
	}
	return cv, pn, nil
}

func (s *Server) loadConversation(r *http.Request) (store.Conversation, error) {
	id := r.PathValue("id")
	c, err := s.opts.Store.Conversation(r.Context(), s.opts.Workspace, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, errNotFound("No conversation " + id + " in this workspace.")
	}
	return c, err
}

// maxReply bounds a reply's text.
const maxReply = 20_000

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c, err := s.loadConversation(r)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	if text == "" {
		return errBadRequest("Write a reply before sending it.")
	}
	if len(text) > maxReply {
		return errBadRequest("That reply is too long to send.")
	}
	auditID := strings.TrimSpace(r.PostFormValue("audit_id"))
	if s.opts.Audit == nil {
		auditID = "" // nothing to link to
	}
	if auditID != "" {
		// Link only an AI use of this member about this customer.
		rec, err := s.opts.Audit.Get(r.Context(), s.opts.Workspace, auditID)
		switch {
		case errors.Is(err, audit.ErrNotFound):
			return errBadRequest("The draft's audit record " + auditID + " does not exist.")
		case err != nil:
			return err
		case rec.Member != v.Member.Email || rec.CustomerID != c.CustomerID:
			return errBadRequest("The draft's audit record " + auditID + " belongs to another member or customer.")
		}
	}
	m, err := s.opts.Store.AppendMessage(r.Context(), s.opts.Workspace, c.ID, store.Message{Author: store.AuthorAgent,
		Member: v.Member.Email, Text: text, AuditID: auditID})
	if err != nil {
		return err
	}
	if r.PostFormValue("then") == "resolve" {
		closed, resolved := store.StatusClosed, store.OutcomeResolved
		if _, err := s.opts.Store.UpdateConversation(r.Context(), s.opts.Workspace, c.ID,
			store.ConversationUpdate{Status: &closed, Outcome: &resolved}); err != nil {
			return err
		}
	}
	redirect(w, r, "/ui/inbox/"+url.PathEscape(c.ID), "Reply sent.", "m"+strconv.FormatInt(m.Seq, 10))
	return nil
}

func (s *Server) setState(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c, err := s.loadConversation(r)
	if err != nil {
		return err
	}
	var u store.ConversationUpdate
	var msg string
	set := func(status, outcome string) { u.Status, u.Outcome = &status, &outcome }
	switch r.PostFormValue("do") {
	case "resolve":
		set(store.StatusClosed, store.OutcomeResolved)
		msg = "Marked resolved."
	case "escalate":
		set(store.StatusPending, store.OutcomeEscalated)
		msg = "Escalated."
	case "reopen":
		set(store.StatusOpen, "")
		msg = "Reopened."
	case "csat":
		n, err := strconv.Atoi(r.PostFormValue("csat"))
		if err != nil || n < 0 || n > 5 {
			return errBadRequest("CSAT is a score from 1 to 5.")
		}
		u.CSAT = &n
		msg = "CSAT saved."
	default:
		return errBadRequest("Unknown action.")
	}
	if _, err := s.opts.Store.UpdateConversation(r.Context(), s.opts.Workspace, c.ID, u); err != nil {
		return err
	}
	redirect(w, r, "/ui/inbox/"+url.PathEscape(c.ID), msg, "")
	return nil
}

// redirect sends the browser back with a one-line notice (in the query,
// since there is no server-side flash store).
func redirect(w http.ResponseWriter, r *http.Request, to, notice, anchor string) {
	u := to + "?flash=" + url.QueryEscape(notice)
	if anchor != "" {
		u += "#" + anchor
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// flash reads redirect's notice; only known notices are shown, so a link
// cannot put words in crisp's mouth.
func flash(r *http.Request) string {
	f := r.URL.Query().Get("flash")
	switch f {
	case "Reply sent.", "Marked resolved.", "Escalated.", "Reopened.", "CSAT saved.", "Saved.", "No changes.",
		"Key revoked.", "Policy saved.":
		return f
	}
	return ""
}
