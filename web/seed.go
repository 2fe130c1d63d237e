package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/crisphq/crisp/store"
)

// Seed files beside crisp.yaml (under seed/), read by Seed.
const (
	SeedMembersFile       = "seed/members.json"
	SeedConversationsFile = "seed/conversations.json"
)

// SeedOptions are what Seed needs.
type SeedOptions struct {
	Store     *store.DB
	Workspace string
	// FS holds the definitions (crisp.yaml's folder, or the embedded
	// example); files missing from it seed nothing.
	FS fs.FS
	// BcryptCost hashes the demo password; 0 means bcrypt.DefaultCost.
	BcryptCost int
}

// SeedResult says what Seed wrote, so `crisp serve` can print the demo
// sign-ins at first start.
type SeedResult struct {
	Members       []store.Member // the members created (no hashes)
	Password      string         // their shared demo password
	Conversations int
}

type seedMembers struct {
	Password string `json:"password"`
	Members  []struct {
		Email string   `json:"email"`
		Name  string   `json:"name"`
		Role  string   `json:"role"`
		Teams []string `json:"teams"`
	} `json:"members"`
}

type seedConversations struct {
	Conversations []struct {
		ID               string `json:"id"`
		CustomerID       string `json:"customer_id"`
		AccountID        string `json:"account_id"`
		Channel          string `json:"channel"`
		Subject          string `json:"subject"`
		IdentityVerified bool   `json:"identity_verified"`
		IdentityMethod   string `json:"identity_method"`
		Status           string `json:"status"`
		Outcome          string `json:"outcome"`
		CSAT             int    `json:"csat"`
		Assignee         string `json:"assignee"`
		Messages         []struct {
			Author string    `json:"author"`
			Member string    `json:"member"`
			Text   string    `json:"text"`
			At     time.Time `json:"at"`
		} `json:"messages"`
	} `json:"conversations"`
}

// Seed writes the example workspace's UI data: the demo members into a
// workspace that has none, and the example conversations into one that has
// none. It is safe to call on every start.
func Seed(ctx context.Context, o SeedOptions) (SeedResult, error) {
	var res SeedResult
	if err := seedMembersFrom(ctx, o, &res); err != nil {
		return res, fmt.Errorf("seed members: %w", err)
	}
	if err := seedConversationsFrom(ctx, o, &res); err != nil {
		return res, fmt.Errorf("seed conversations: %w", err)
	}
	return res, nil
}

// readSeed decodes a seed file strictly; ok is false when it is absent.
func readSeed(fsys fs.FS, name string, v any) (bool, error) {
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// _comment documents the file; everything else must be known.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	delete(raw, "_comment")
	clean, _ := json.Marshal(raw) // re-encoding decoded JSON cannot fail
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

func seedMembersFrom(ctx context.Context, o SeedOptions, res *SeedResult) error {
	existing, err := o.Store.ListMembers(ctx, o.Workspace)
	if err != nil || len(existing) > 0 {
		return err
	}
	var f seedMembers
	if ok, err := readSeed(o.FS, SeedMembersFile, &f); !ok || err != nil {
		return err
	}
	if f.Password == "" {
		return fmt.Errorf("%s: no password", SeedMembersFile)
	}
	cost := o.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(f.Password), cost)
	if err != nil {
		return err
	}
	for _, m := range f.Members {
		// One hash serves every demo member: the password is published,
		// so per-member salts would protect nothing, and each bcrypt round
		// costs start-up time.
		sm := store.Member{WorkspaceID: o.Workspace, Email: m.Email, Name: m.Name, Role: m.Role, Teams: m.Teams,
			PasswordHash: string(hash)}
		if err := o.Store.PutMember(ctx, sm); err != nil {
			return err
		}
		sm.PasswordHash = ""
		res.Members = append(res.Members, sm)
	}
	res.Password = f.Password
	return nil
}

func seedConversationsFrom(ctx context.Context, o SeedOptions, res *SeedResult) error {
	existing, _, err := o.Store.ListConversations(ctx, o.Workspace, store.ConversationFilter{Limit: 1})
	if err != nil || len(existing) > 0 {
		return err
	}
	var f seedConversations
	if ok, err := readSeed(o.FS, SeedConversationsFile, &f); !ok || err != nil {
		return err
	}
	for _, c := range f.Conversations {
		conv := store.Conversation{WorkspaceID: o.Workspace, ID: c.ID, CustomerID: c.CustomerID, AccountID: c.AccountID,
			Channel: c.Channel, Subject: c.Subject, IdentityVerified: c.IdentityVerified, IdentityMethod: c.IdentityMethod,
			Status: c.Status, Outcome: c.Outcome, CSAT: c.CSAT, Assignee: c.Assignee}
		for _, m := range c.Messages {
			conv.Messages = append(conv.Messages, store.Message{Author: m.Author, Member: m.Member, Text: m.Text, At: m.At})
			if conv.CreatedAt.IsZero() {
				conv.CreatedAt = m.At
			}
		}
		if _, err := o.Store.CreateConversation(ctx, conv); err != nil {
			return fmt.Errorf("%s: %w", c.ID, err)
		}
		res.Conversations++
	}
	return nil
}
