package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

func acmeConversation() store.Conversation {
	return store.Conversation{WorkspaceID: "acme", ID: "cnv_acme_seats", CustomerID: "usr_2481", AccountID: "acc_acme",
		Channel: "chat", Subject: "Seat limits", IdentityVerified: true, IdentityMethod: "hmac", CreatedAt: t0,
		Messages: []store.Message{{Author: store.AuthorCustomer,
			Text: "We are ready to upgrade, but the team seat limit looks confusing.", At: t0}}}
}

func TestConversationRoundTrip(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		store.SetClock(db, func() time.Time { return t0.Add(time.Hour) })
		got, err := db.CreateConversation(ctx, acmeConversation())
		must(t, err)
		want := acmeConversation()
		want.Status, want.MessageCount, want.UpdatedAt = store.StatusOpen, 1, t0
		want.Messages[0].Seq = 1
		want.LastMessage = &want.Messages[0]
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("created =\n %+v\nwant\n %+v", got, want)
		}
		if _, err := db.CreateConversation(ctx, acmeConversation()); !errors.Is(err, store.ErrExists) {
			t.Errorf("second create: err = %v, want ErrExists", err)
		}

		reply := store.Message{Author: store.AuthorAgent, Member: "Maya@Acme.example", Text: "Growth raises the limit.",
			AuditID: "aud_123", At: t0.Add(2 * time.Minute)}
		m, err := db.AppendMessage(ctx, "acme", want.ID, reply)
		must(t, err)
		if m.Seq != 2 || m.Member != "maya@acme.example" {
			t.Errorf("appended = %+v", m)
		}
		full, err := db.Conversation(ctx, "acme", want.ID)
		must(t, err)
		if len(full.Messages) != 2 || full.Messages[1].AuditID != "aud_123" || !full.UpdatedAt.Equal(reply.At) ||
			full.MessageCount != 2 {
			t.Errorf("after append = %+v", full)
		}
		if _, err := db.Conversation(ctx, "beta", want.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other workspace: err = %v", err)
		}
	})
}

func TestConversationValidation(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, errOnly(db.CreateConversation(ctx, acmeConversation())))
		bad := func(mut func(*store.Conversation)) store.Conversation {
			c := acmeConversation()
			c.ID = "cnv_bad"
			mut(&c)
			return c
		}
		creates := []struct {
			name string
			c    store.Conversation
		}{
			{name: "no id", c: bad(func(c *store.Conversation) { c.ID = "" })},
			{name: "no workspace", c: bad(func(c *store.Conversation) { c.WorkspaceID = "" })},
			{name: "bad status", c: bad(func(c *store.Conversation) { c.Status = "snoozed" })},
			{name: "bad outcome", c: bad(func(c *store.Conversation) { c.Outcome = "won" })},
			{name: "csat too high", c: bad(func(c *store.Conversation) { c.CSAT = 6 })},
			{name: "bad author", c: bad(func(c *store.Conversation) { c.Messages[0].Author = "bot" })},
			{name: "blank text", c: bad(func(c *store.Conversation) { c.Messages[0].Text = "  " })},
		}
		for _, tt := range creates {
			if _, err := db.CreateConversation(ctx, tt.c); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
			}
		}
		appends := []struct {
			name string
			conv string
			m    store.Message
			want error
		}{
			{name: "missing conversation", conv: "cnv_nope", m: store.Message{Author: "agent", Text: "hi"}, want: store.ErrNotFound},
			{name: "bad author", conv: "cnv_acme_seats", m: store.Message{Author: "system", Text: "hi"}, want: store.ErrInvalid},
			{name: "empty text", conv: "cnv_acme_seats", m: store.Message{Author: "agent"}, want: store.ErrInvalid},
		}
		for _, tt := range appends {
			if _, err := db.AppendMessage(ctx, "acme", tt.conv, tt.m); !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
		}
	})
}

func errOnly[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

func TestUpdateConversation(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, errOnly(db.CreateConversation(ctx, acmeConversation())))
		tests := []struct {
			name string
			u    store.ConversationUpdate
			want func(c store.Conversation) bool
			err  error
		}{
			{name: "resolve", u: store.ConversationUpdate{Status: ptr("closed"), Outcome: ptr("resolved")},
				want: func(c store.Conversation) bool { return c.Status == "closed" && c.Outcome == "resolved" }},
			{name: "rate keeps the rest", u: store.ConversationUpdate{CSAT: ptr(5)},
				want: func(c store.Conversation) bool { return c.CSAT == 5 && c.Outcome == "resolved" }},
			{name: "assign", u: store.ConversationUpdate{Assignee: ptr("Sam@acme.example")},
				want: func(c store.Conversation) bool { return c.Assignee == "sam@acme.example" }},
			{name: "reopen and escalate", u: store.ConversationUpdate{Status: ptr("open"), Outcome: ptr("escalated")},
				want: func(c store.Conversation) bool { return c.Status == "open" && c.Outcome == "escalated" }},
			{name: "bad csat", u: store.ConversationUpdate{CSAT: ptr(-1)}, err: store.ErrInvalid},
			{name: "bad status", u: store.ConversationUpdate{Status: ptr("done")}, err: store.ErrInvalid},
		}
		for _, tt := range tests {
			c, err := db.UpdateConversation(ctx, "acme", "cnv_acme_seats", tt.u)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
				}
				continue
			}
			if err != nil || !tt.want(c) {
				t.Errorf("%s: got %+v, %v", tt.name, c, err)
			}
		}
		if _, err := db.UpdateConversation(ctx, "acme", "cnv_nope", store.ConversationUpdate{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing: err = %v", err)
		}
	})
}

func TestListConversations(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for i := range 5 {
			c := acmeConversation()
			c.ID = fmt.Sprintf("cnv_%d", i)
			c.CreatedAt, c.Messages[0].At = t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute)
			if i%2 == 1 {
				c.CustomerID, c.Status = "usr_other", store.StatusClosed
			}
			must(t, errOnly(db.CreateConversation(ctx, c)))
		}
		// An append makes cnv_0 the most recently active.
		must(t, errOnly(db.AppendMessage(ctx, "acme", "cnv_0", store.Message{Author: "agent", Text: "Hello", At: t0.Add(time.Hour)})))

		ids := func(cs []store.Conversation) []string {
			out := []string{}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		tests := []struct {
			name string
			f    store.ConversationFilter
			want []string
		}{
			{name: "all, recent first", f: store.ConversationFilter{}, want: []string{"cnv_0", "cnv_4", "cnv_3", "cnv_2", "cnv_1"}},
			{name: "by status", f: store.ConversationFilter{Status: "closed"}, want: []string{"cnv_3", "cnv_1"}},
			{name: "by customer", f: store.ConversationFilter{CustomerID: "usr_2481"}, want: []string{"cnv_0", "cnv_4", "cnv_2"}},
			{name: "by account", f: store.ConversationFilter{AccountID: "acc_none"}, want: []string{}},
		}
		for _, tt := range tests {
			got, next, err := db.ListConversations(ctx, "acme", tt.f)
			if err != nil || next != "" || !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("%s: got %v next %q err %v, want %v", tt.name, ids(got), next, err, tt.want)
			}
		}

		// Paging walks every conversation once, in order.
		var walked []string
		cursor := ""
		for {
			page, next, err := db.ListConversations(ctx, "acme", store.ConversationFilter{Limit: 2, Cursor: cursor})
			must(t, err)
			walked = append(walked, ids(page)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if want := []string{"cnv_0", "cnv_4", "cnv_3", "cnv_2", "cnv_1"}; !reflect.DeepEqual(walked, want) {
			t.Errorf("paged = %v, want %v", walked, want)
		}
		page, _, err := db.ListConversations(ctx, "acme", store.ConversationFilter{Limit: 1})
		must(t, err)
		if page[0].LastMessage == nil || page[0].LastMessage.Text != "Hello" || page[0].Messages != nil {
			t.Errorf("list row = %+v", page[0])
		}
		if _, _, err := db.ListConversations(ctx, "acme", store.ConversationFilter{Cursor: "garbage"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad cursor: err = %v", err)
		}
	})
}

// Concurrent appends each get their own seq.
func TestAppendMessageConcurrent(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, errOnly(db.CreateConversation(ctx, acmeConversation())))
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := db.AppendMessage(ctx, "acme", "cnv_acme_seats", store.Message{Author: "agent", Text: fmt.Sprint("reply ", i)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		c, err := db.Conversation(ctx, "acme", "cnv_acme_seats")
		must(t, err)
		if len(c.Messages) != n+1 || c.MessageCount != n+1 {
			t.Fatalf("messages = %d, count = %d, want %d", len(c.Messages), c.MessageCount, n+1)
		}
		for i, m := range c.Messages {
			if m.Seq != int64(i+1) {
				t.Errorf("message %d has seq %d", i, m.Seq)
			}
		}
	})
}

func TestCatalogEdits(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		edits := []store.CatalogEdit{
			{WorkspaceID: "acme", At: t0, Member: "Ada@acme.example", Target: "account.plan", Mode: "overlay",
				Diff: "-owner: a\n+owner: b\n", PatchJSON: `{"name":"account.plan"}`, AuditID: "aud_1"},
			{WorkspaceID: "acme", At: t0.Add(time.Minute), Member: "ada@acme.example", Target: "account.seats", Mode: "file",
				Diff: "x", PatchJSON: `{}`},
		}
		for i, e := range edits {
			seq, err := db.AddCatalogEdit(ctx, e)
			if err != nil || seq != int64(i+1) {
				t.Fatalf("edit %d: seq %d, err %v", i, seq, err)
			}
		}
		bad := []struct {
			name string
			e    store.CatalogEdit
		}{
			{name: "mode", e: store.CatalogEdit{WorkspaceID: "acme", Target: "x", PatchJSON: "{}", Mode: "git"}},
			{name: "target", e: store.CatalogEdit{WorkspaceID: "acme", PatchJSON: "{}", Mode: "file"}},
			{name: "workspace", e: store.CatalogEdit{Target: "x", PatchJSON: "{}", Mode: "file"}},
		}
		for _, tt := range bad {
			if _, err := db.AddCatalogEdit(ctx, tt.e); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: err = %v", tt.name, err)
			}
		}
		all, err := db.CatalogEdits(ctx, "acme", "")
		must(t, err)
		overlay, err := db.CatalogEdits(ctx, "acme", store.CatalogEditOverlay)
		must(t, err)
		if len(all) != 2 || len(overlay) != 1 || overlay[0].Member != "ada@acme.example" || !overlay[0].At.Equal(t0) ||
			overlay[0].AuditID != "aud_1" || overlay[0].Seq != 1 {
			t.Errorf("all = %+v\noverlay = %+v", all, overlay)
		}
		if other, err := db.CatalogEdits(ctx, "beta", ""); err != nil || len(other) != 0 {
			t.Errorf("beta = %v, %v", other, err)
		}
	})
}

// FuzzConversationCursor feeds arbitrary cursors to ListConversations: a
// cursor is understood or refused with ErrInvalid, never a crash or a SQL
// error.
func FuzzConversationCursor(f *testing.F) {
	for _, s := range []string{"", "Y3Y6MTc0MDAwMDAwMDAwMDAwMDpjbnZfMQ", "Y3Y6", "Y3Y6eDpjbnY", "aWQ6dXNyXzE", "!!"} {
		f.Add(s)
	}
	db := storetest.OpenSQLite(f)
	for i := range 3 {
		c := acmeConversation()
		c.ID = fmt.Sprint("cnv_", i)
		if _, err := db.CreateConversation(f.Context(), c); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		page, _, err := db.ListConversations(t.Context(), "acme", store.ConversationFilter{Cursor: cursor, Limit: 1})
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("cursor %q: %v", cursor, err)
		}
		if len(page) > 1 {
			t.Fatalf("cursor %q: page of %d with limit 1", cursor, len(page))
		}
	})
}
