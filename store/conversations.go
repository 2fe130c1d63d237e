package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Conversation statuses, outcomes and message authors.
const (
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusClosed  = "closed"

	OutcomeResolved  = "resolved"
	OutcomeEscalated = "escalated"

	AuthorCustomer = "customer"
	AuthorAgent    = "agent"
)

// Conversation is a support conversation with one customer.
type Conversation struct {
	WorkspaceID string `json:"workspace_id"`
	ID          string `json:"id"`
	CustomerID  string `json:"customer_id"`
	AccountID   string `json:"account_id"`
	Channel     string `json:"channel"` // chat, email, …
	Subject     string `json:"subject"`
	// IdentityVerified records that the customer's identity was signed
	// when the conversation came in; IdentityMethod says how (hmac, jwt).
	IdentityVerified bool   `json:"identity_verified"`
	IdentityMethod   string `json:"identity_method"`
	Status           string `json:"status"`  // open, pending, closed
	Outcome          string `json:"outcome"` // "", resolved, escalated
	CSAT             int    `json:"csat"`    // 0 until rated, then 1-5
	Assignee         string `json:"assignee"`
	MessageCount     int    `json:"message_count"`
	// Messages are in order; lists leave them out and set LastMessage.
	Messages    []Message `json:"messages,omitempty"`
	LastMessage *Message  `json:"last_message,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Message is one message of a conversation.
type Message struct {
	Seq    int64  `json:"seq"`
	Author string `json:"author"`           // customer or agent
	Member string `json:"member,omitempty"` // the agent's email
	Text   string `json:"text"`
	// AuditID links an agent's reply to the audit record of the AI draft
	// or answer it used.
	AuditID string    `json:"audit_id,omitempty"`
	At      time.Time `json:"at"`
}

// ConversationFilter selects one page of conversations, most recently
// active first. Empty fields match everything.
type ConversationFilter struct {
	Status     string
	CustomerID string
	AccountID  string
	// Limit is the page size: 50 when zero, at most 500. Cursor is the next
	// cursor of the previous page.
	Limit  int
	Cursor string
}

// ConversationUpdate changes a conversation's state; nil fields stay.
type ConversationUpdate struct {
	Status   *string
	Outcome  *string
	CSAT     *int
	Assignee *string
}

func checkConversation(c *Conversation) error {
	if c.ID == "" {
		return fmt.Errorf("%w: conversation id is empty", ErrInvalid)
	}
	if c.Status == "" {
		c.Status = StatusOpen
	}
	if c.Channel == "" {
		c.Channel = "chat"
	}
	return checkState(c.Status, c.Outcome, c.CSAT)
}

func checkState(status, outcome string, csat int) error {
	switch status {
	case StatusOpen, StatusPending, StatusClosed:
	default:
		return fmt.Errorf("%w: status %q (want open, pending or closed)", ErrInvalid, status)
	}
	switch outcome {
	case "", OutcomeResolved, OutcomeEscalated:
	default:
		return fmt.Errorf("%w: outcome %q (want resolved or escalated)", ErrInvalid, outcome)
	}
	if csat < 0 || csat > 5 {
		return fmt.Errorf("%w: csat %d (want 1 to 5, or 0 for not rated)", ErrInvalid, csat)
	}
	return nil
}

func checkMessage(m Message) error {
	if m.Author != AuthorCustomer && m.Author != AuthorAgent {
		return fmt.Errorf("%w: message author %q (want customer or agent)", ErrInvalid, m.Author)
	}
	if strings.TrimSpace(m.Text) == "" {
		return fmt.Errorf("%w: message text is empty", ErrInvalid)
	}
	return nil
}

// CreateConversation stores a new conversation with its first messages and
// returns it as stored; ErrExists when the workspace already has its id.
func (db *DB) CreateConversation(ctx context.Context, c Conversation) (Conversation, error) {
	if err := checkWS(c.WorkspaceID); err != nil {
		return Conversation{}, err
	}
	if err := checkConversation(&c); err != nil {
		return Conversation{}, err
	}
	for _, m := range c.Messages {
		if err := checkMessage(m); err != nil {
			return Conversation{}, err
		}
	}
	created := db.stamp(c.CreatedAt)
	updated := created
	for _, m := range c.Messages {
		updated = max(updated, db.stamp(m.At))
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO conversations (workspace_id, id, customer_id,
				account_id, channel, subject, identity_verified, identity_method, status, outcome, csat, assignee,
				message_count, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, id) DO NOTHING`),
			c.WorkspaceID, c.ID, c.CustomerID, c.AccountID, c.Channel, c.Subject, boolInt(c.IdentityVerified),
			c.IdentityMethod, c.Status, c.Outcome, c.CSAT, normEmail(c.Assignee), len(c.Messages), created, updated)
		if err != nil {
			return fmt.Errorf("store: create conversation %q: %w", c.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: create conversation %q: %w", c.ID, err)
		} else if n == 0 {
			return fmt.Errorf("conversation %q: %w", c.ID, ErrExists)
		}
		for i, m := range c.Messages {
			if err := db.insertMessage(ctx, tx, c.WorkspaceID, c.ID, int64(i+1), m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	return db.Conversation(ctx, c.WorkspaceID, c.ID)
}

func (db *DB) insertMessage(ctx context.Context, tx *sql.Tx, ws, conv string, seq int64, m Message) error {
	_, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO conversation_messages
			(workspace_id, conversation_id, seq, author, member, text, audit_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		ws, conv, seq, m.Author, normEmail(m.Member), m.Text, m.AuditID, db.stamp(m.At))
	if err != nil {
		return fmt.Errorf("store: add message to %q: %w", conv, err)
	}
	return nil
}

// AppendMessage adds a message at the end of a conversation and returns it
// with its seq; ErrNotFound when there is no such conversation.
func (db *DB) AppendMessage(ctx context.Context, ws, conv string, m Message) (Message, error) {
	if err := checkWS(ws); err != nil {
		return Message{}, err
	}
	if err := checkMessage(m); err != nil {
		return Message{}, err
	}
	m.At = fromMicros(db.stamp(m.At))
	m.Member = normEmail(m.Member)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Bumping the count first locks the conversation's row (PostgreSQL)
		// so two appends never pick the same seq.
		var count int64
		err := tx.QueryRowContext(ctx, db.rebind(`UPDATE conversations
			SET message_count = message_count + 1,
				updated_at = CASE WHEN updated_at > ? THEN updated_at ELSE ? END
			WHERE workspace_id = ? AND id = ? RETURNING message_count`),
			micros(m.At), micros(m.At), ws, conv).Scan(&count)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conversation %q: %w", conv, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: append to %q: %w", conv, err)
		}
		m.Seq = count
		return db.insertMessage(ctx, tx, ws, conv, count, m)
	})
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// UpdateConversation changes a conversation's status, outcome, CSAT or
// assignee and returns it; ErrNotFound when there is no such conversation.
func (db *DB) UpdateConversation(ctx context.Context, ws, id string, u ConversationUpdate) (Conversation, error) {
	if err := checkWS(ws); err != nil {
		return Conversation{}, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status, outcome, assignee string
		var csat int
		err := tx.QueryRowContext(ctx, db.rebind(`SELECT status, outcome, csat, assignee FROM conversations
			WHERE workspace_id = ? AND id = ?`), ws, id).Scan(&status, &outcome, &csat, &assignee)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conversation %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: update conversation %q: %w", id, err)
		}
		if u.Status != nil {
			status = *u.Status
		}
		if u.Outcome != nil {
			outcome = *u.Outcome
		}
		if u.CSAT != nil {
			csat = *u.CSAT
		}
		if u.Assignee != nil {
			assignee = normEmail(*u.Assignee)
		}
		if err := checkState(status, outcome, csat); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.rebind(`UPDATE conversations SET status = ?, outcome = ?, csat = ?,
			assignee = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			status, outcome, csat, assignee, micros(db.now()), ws, id)
		if err != nil {
			return fmt.Errorf("store: update conversation %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Conversation{}, err
	}
	return db.Conversation(ctx, ws, id)
}

const conversationCols = `id, customer_id, account_id, channel, subject, identity_verified, identity_method,
	status, outcome, csat, assignee, message_count, created_at, updated_at`

func scanConversation(ws string, s interface{ Scan(...any) error }) (Conversation, error) {
	c := Conversation{WorkspaceID: ws}
	var verified, created, updated, count int64
	if err := s.Scan(&c.ID, &c.CustomerID, &c.AccountID, &c.Channel, &c.Subject, &verified, &c.IdentityMethod,
		&c.Status, &c.Outcome, &c.CSAT, &c.Assignee, &count, &created, &updated); err != nil {
		return Conversation{}, err
	}
	c.IdentityVerified, c.MessageCount = verified == 1, int(count)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// Conversation returns one conversation with every message, or ErrNotFound.
func (db *DB) Conversation(ctx context.Context, ws, id string) (Conversation, error) {
	row, err := db.queryRow(ctx, `SELECT `+conversationCols+` FROM conversations WHERE workspace_id = ? AND id = ?`, ws, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("store: conversation %q: %w", id, err)
	}
	c, err := scanConversation(ws, row)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, fmt.Errorf("conversation %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("store: conversation %q: %w", id, err)
	}
	rows, err := db.query(ctx, `SELECT seq, author, member, text, audit_id, at FROM conversation_messages
		WHERE workspace_id = ? AND conversation_id = ? ORDER BY seq`, ws, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("store: messages of %q: %w", id, err)
	}
	defer rows.Close()
	c.Messages = []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return Conversation{}, fmt.Errorf("store: messages of %q: %w", id, err)
		}
		c.Messages = append(c.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return Conversation{}, fmt.Errorf("store: messages of %q: %w", id, err)
	}
	if n := len(c.Messages); n > 0 {
		c.LastMessage = &c.Messages[n-1]
	}
	return c, nil
}

func scanMessage(s interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var at int64
	if err := s.Scan(&m.Seq, &m.Author, &m.Member, &m.Text, &m.AuditID, &at); err != nil {
		return Message{}, err
	}
	m.At = fromMicros(at)
	return m, nil
}

// ListConversations returns one page of conversations, most recently active
// first, each with its last message, and the cursor of the next page ("" at
// the end).
func (db *DB) ListConversations(ctx context.Context, ws string, f ConversationFilter) ([]Conversation, string, error) {
	if err := checkWS(ws); err != nil {
		return nil, "", err
	}
	var b strings.Builder
	args := []any{ws}
	b.WriteString(`SELECT ` + conversationCols + ` FROM conversations WHERE workspace_id = ?`)
	for _, c := range []struct{ col, v string }{{"status", f.Status}, {"customer_id", f.CustomerID}, {"account_id", f.AccountID}} {
		if c.v != "" {
			b.WriteString(" AND " + c.col + " = ?")
			args = append(args, c.v)
		}
	}
	if f.Cursor != "" {
		at, id, err := decodeConversationCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		b.WriteString(" AND (updated_at < ? OR (updated_at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	limit := ListOptions{Limit: f.Limit}.limit()
	b.WriteString(" ORDER BY updated_at DESC, id DESC LIMIT ?")
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	defer rows.Close()
	page := []Conversation{}
	for rows.Next() {
		c, err := scanConversation(ws, rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: list conversations: %w", err)
		}
		page = append(page, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	rows.Close()
	next := ""
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = encodeConversationCursor(micros(last.UpdatedAt), last.ID)
	}
	for i := range page {
		if err := db.loadLastMessage(ctx, ws, &page[i]); err != nil {
			return nil, "", err
		}
	}
	return page, next, nil
}

func (db *DB) loadLastMessage(ctx context.Context, ws string, c *Conversation) error {
	if c.MessageCount == 0 {
		return nil
	}
	row, err := db.queryRow(ctx, `SELECT seq, author, member, text, audit_id, at FROM conversation_messages
		WHERE workspace_id = ? AND conversation_id = ? ORDER BY seq DESC LIMIT 1`, ws, c.ID)
	if err != nil {
		return fmt.Errorf("store: last message of %q: %w", c.ID, err)
	}
	m, err := scanMessage(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: last message of %q: %w", c.ID, err)
	}
	c.LastMessage = &m
	return nil
}

func encodeConversationCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("cv:" + strconv.FormatInt(at, 10) + ":" + id))
}

func decodeConversationCursor(c string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), "cv:"); ok {
			if at, id, ok := strings.Cut(rest, ":"); ok {
				if v, err := strconv.ParseInt(at, 10, 64); err == nil {
					return v, id, nil
				}
			}
		}
	}
	return 0, "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
