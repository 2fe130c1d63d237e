package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// Workspace is one tenant. Every other row belongs to exactly one.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Member is a person on the support side (not a customer). Members are named
// by their email, which the store keeps lower-cased.
type Member struct {
	WorkspaceID string   `json:"workspace_id"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Teams       []string `json:"teams"`
	// PasswordHash never leaves the process as JSON.
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Key kinds.
const (
	KeyKindMember   = "member"
	KeyKindWorkflow = "workflow"
)

// APIKey is a crisp key as stored: never the secret itself, only its prefix
// (for lookup) and the hex SHA-256 of the whole key (for comparison).
type APIKey struct {
	WorkspaceID   string     `json:"workspace_id"`
	ID            string     `json:"id"`
	Prefix        string     `json:"prefix"`
	Hash          string     `json:"hash"`
	Name          string     `json:"name"`
	Kind          string     `json:"kind"`
	Member        string     `json:"member,omitempty"`
	Role          string     `json:"role"`
	Teams         []string   `json:"teams"`
	Actions       []string   `json:"actions"`
	DefaultAction string     `json:"default_action"`
	Models        []string   `json:"models"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

// Trait types.
const (
	TraitString = "string"
	TraitNumber = "number"
	TraitBool   = "bool"
	TraitTime   = "time"
	TraitJSON   = "json"
)

// Trait is one attribute of a customer or account. Value is any JSON value;
// read back, numbers are float64 and objects map[string]any, as encoding/json
// decodes them. UpdatedAt orders writes: last write wins.
type Trait struct {
	Key       string    `json:"key"`
	Value     any       `json:"value"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Account is a customer's company or workspace.
type Account struct {
	WorkspaceID  string           `json:"workspace_id"`
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Plan         string           `json:"plan"`
	Subscription string           `json:"subscription"`
	Traits       map[string]Trait `json:"traits"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

// Customer is a person the support team talks to. ID is the product's user id.
type Customer struct {
	WorkspaceID string           `json:"workspace_id"`
	ID          string           `json:"id"`
	Email       string           `json:"email"`
	Name        string           `json:"name"`
	Traits      map[string]Trait `json:"traits"`
	Accounts    []Membership     `json:"accounts"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// Membership links a customer to one of its accounts.
type Membership struct {
	AccountID string `json:"account_id"`
	Role      string `json:"role"`
}

// Event is one tracked action of a customer. ID is the source's messageId and
// the dedupe key within a workspace.
type Event struct {
	WorkspaceID string         `json:"workspace_id"`
	ID          string         `json:"id"`
	CustomerID  string         `json:"customer_id"`
	AccountID   string         `json:"account_id,omitempty"`
	Name        string         `json:"name"`
	Properties  map[string]any `json:"properties"`
	Timestamp   time.Time      `json:"timestamp"`
	Source      string         `json:"source"`
	ReceivedAt  time.Time      `json:"received_at"`
}

// ListOptions selects one page of customers or accounts, ordered by id.
type ListOptions struct {
	// Limit is the page size: 50 when zero, at most 500.
	Limit int
	// Cursor is the next value a previous page returned; empty for the first.
	Cursor string
	// Query matches a substring of id, email or name, ignoring ASCII case.
	Query string
	// Trait keeps only rows whose trait Key equals Value.
	Trait *TraitFilter
}

// TraitFilter matches a trait by key and JSON-equal value.
type TraitFilter struct {
	Key   string
	Value any
}

// Page size bounds for ListOptions.Limit.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func (o ListOptions) limit() int {
	switch {
	case o.Limit <= 0:
		return DefaultLimit
	case o.Limit > MaxLimit:
		return MaxLimit
	}
	return o.Limit
}

// traitType names the type of a JSON value for a trait that did not say.
func traitType(v any) string {
	switch v.(type) {
	case string:
		return TraitString
	case bool:
		return TraitBool
	case time.Time, *time.Time:
		return TraitTime
	case float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, json.Number:
		return TraitNumber
	}
	return TraitJSON
}

func encodeJSON(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not JSON: %v", ErrInvalid, what, err)
	}
	return string(b), nil
}

// encodeList stores a nil list as [] so reads return an empty, non-nil slice.
func encodeList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // []string always marshals
	return string(b)
}

func decodeList(what, s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: decode %s: %w", what, err)
	}
	return out, nil
}
