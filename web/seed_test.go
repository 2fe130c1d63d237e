package web_test

import (
	"testing"
	"testing/fstest"

	"golang.org/x/crypto/bcrypt"

	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
	"github.com/crisphq/crisp/web"
)

func TestSeed(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		opts := web.SeedOptions{Store: db, Workspace: "acme", FS: configs.FS, BcryptCost: bcrypt.MinCost}
		res, err := web.Seed(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Members) != 4 || res.Password != "crisp-demo" || res.Conversations != 4 {
			t.Fatalf("first seed = %+v", res)
		}
		m, err := db.Member(ctx, "acme", "ada@acme.example")
		if err != nil || m.Role != "admin" || bcrypt.CompareHashAndPassword([]byte(m.PasswordHash), []byte("crisp-demo")) != nil {
			t.Errorf("ada = %+v, %v", m, err)
		}
		c, err := db.Conversation(ctx, "acme", "cnv_acme_seats")
		if err != nil || !c.IdentityVerified || c.CustomerID != "usr_2481" || c.AccountID != "acc_acme" ||
			c.Messages[0].Text != "We are ready to upgrade, but the team seat limit looks confusing." {
			t.Errorf("Acme conversation = %+v, %v", c, err)
		}
		// A second start changes nothing.
		again, err := web.Seed(ctx, opts)
		if err != nil || len(again.Members) != 0 || again.Conversations != 0 {
			t.Errorf("second seed = %+v, %v", again, err)
		}
	})
}

func TestSeedFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		members int
		err     bool
	}{
		{name: "no seed files", files: fstest.MapFS{}},
		{name: "members only", files: fstest.MapFS{"seed/members.json": {Data: []byte(
			`{"_comment":"x","password":"pw","members":[{"email":"a@x.example","role":"admin"}]}`)}}, members: 1},
		{name: "unknown key", files: fstest.MapFS{"seed/members.json": {Data: []byte(`{"password":"pw","admins":[]}`)}}, err: true},
		{name: "no password", files: fstest.MapFS{"seed/members.json": {Data: []byte(`{"members":[{"email":"a@x.example"}]}`)}}, err: true},
		{name: "bad conversation", files: fstest.MapFS{"seed/conversations.json": {Data: []byte(
			`{"conversations":[{"id":"c1","messages":[{"author":"robot","text":"hi"}]}]}`)}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := storetest.OpenSQLite(t)
			res, err := web.Seed(t.Context(), web.SeedOptions{Store: db, Workspace: "acme", FS: tt.files, BcryptCost: bcrypt.MinCost})
			if (err != nil) != tt.err || len(res.Members) != tt.members {
				t.Errorf("Seed = %+v, %v", res, err)
			}
		})
	}
}
