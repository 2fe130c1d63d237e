package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

const keysSynopsis = `keys create   mint a new crisp API key, store its sha256 and prefix, and print
              the key once (--print-config: print a crisp.yaml entry instead)
keys list     list the stored keys (never the keys themselves)
keys revoke ID  revoke a stored key
Creating and revoking keys are recorded in the audit trail.`

func runKeys(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "Usage: crisp keys create|list|revoke [flags]\n\n"+keysSynopsis)
		return errUsage
	}
	switch args[0] {
	case "create":
		return runKeysCreate(ctx, e, args[1:])
	case "list":
		return runKeysList(ctx, e, args[1:])
	case "revoke":
		return runKeysRevoke(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stderr, "Usage: crisp keys create|list|revoke [flags]\n\n"+keysSynopsis)
		return nil
	}
	fmt.Fprintln(e.stderr, "Usage: crisp keys create|list|revoke [flags]\n\n"+keysSynopsis)
	return errUsage
}

func runKeysCreate(ctx context.Context, e env, args []string) error {
	fs := newFlags("keys create", keysSynopsis, e)
	var c common
	c.register(fs, e)
	id := fs.String("id", "", "key id, e.g. key_inbox_bot (required)")
	name := fs.String("name", "", "a label for people")
	kind := fs.String("kind", "member", "member or workflow")
	member := fs.String("member", "", "the member's email, for member keys")
	role := fs.String("role", "", "role as policy sees it, e.g. support (required)")
	teams := fs.String("teams", "", "comma-separated teams")
	actions := fs.String("actions", "ai.*", "comma-separated actions or patterns the key may use")
	models := fs.String("models", "", "comma-separated models or patterns the key may call (default: all)")
	printConfig := fs.Bool("print-config", false, "print a crisp.yaml entry instead of storing the key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *role == "" || (*kind != "member" && *kind != "workflow") {
		fs.Usage()
		return errUsage
	}
	key, err := keys.New()
	if err != nil {
		return err
	}
	if *printConfig {
		fmt.Fprintf(e.stdout, "New key (shown once; store it now): %s\n\n", key)
		fmt.Fprintf(e.stdout, "Add to crisp.yaml under keys:\n")
		fmt.Fprintf(e.stdout, "  - id: %s\n    name: %q\n    kind: %s\n", *id, *name, *kind)
		if *member != "" {
			fmt.Fprintf(e.stdout, "    member: %s\n", *member)
		}
		fmt.Fprintf(e.stdout, "    role: %s\n    teams: [%s]\n    actions: [%s]\n", *role, list(*teams), list(*actions))
		if *models != "" {
			fmt.Fprintf(e.stdout, "    models: [%s]\n", list(*models))
		}
		fmt.Fprintf(e.stdout, "    prefix: %s\n    sha256: %s\n", keys.Prefix(key), keys.HashHex(key))
		return nil
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	return withAudit(ctx, cfg, func(db *store.DB, log *audit.Log) error {
		k := store.APIKey{WorkspaceID: cfg.Workspace.ID, ID: *id, Prefix: keys.Prefix(key), Hash: keys.HashHex(key),
			Name: *name, Kind: *kind, Member: *member, Role: *role, Teams: split(*teams), Actions: split(*actions),
			DefaultAction: "ai.draft", Models: split(*models)}
		if err := db.PutKey(ctx, k); err != nil {
			return fmt.Errorf("store key: %w", err)
		}
		if err := recordKeyChange(ctx, log, cfg, *id, "key.create"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "New key %s (shown once; store it now):\n%s\n", *id, key)
		return nil
	})
}

func runKeysList(ctx context.Context, e env, args []string) error {
	fs := newFlags("keys list", keysSynopsis, e)
	var c common
	c.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	ks, err := db.ListKeys(ctx, cfg.Workspace.ID)
	if err != nil {
		return err
	}
	for _, k := range cfg.Keys {
		fmt.Fprintf(e.stdout, "%-22s %-14s %-8s %-10s %-26s config\n", k.ID, k.Prefix+"…", k.Kind, k.Role, k.Member)
	}
	for _, k := range ks {
		state := "active"
		if k.RevokedAt != nil {
			state = "revoked " + k.RevokedAt.Format(time.DateOnly)
		}
		fmt.Fprintf(e.stdout, "%-22s %-14s %-8s %-10s %-26s %s\n", k.ID, k.Prefix+"…", k.Kind, k.Role, k.Member, state)
	}
	return nil
}

func runKeysRevoke(ctx context.Context, e env, args []string) error {
	fs := newFlags("keys revoke", keysSynopsis, e)
	var c common
	c.register(fs, e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	return withAudit(ctx, cfg, func(db *store.DB, log *audit.Log) error {
		if err := db.RevokeKey(ctx, cfg.Workspace.ID, fs.Arg(0)); err != nil {
			return fmt.Errorf("revoke %s: %w", fs.Arg(0), err)
		}
		if err := recordKeyChange(ctx, log, cfg, fs.Arg(0), "key.revoke"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Revoked %s (running servers stop accepting it within %s).\n", fs.Arg(0), keys.CacheTTL)
		return nil
	})
}

// withAudit opens the store and the audit trail for an admin change.
func withAudit(ctx context.Context, cfg *config.Config, fn func(*store.DB, *audit.Log) error) error {
	db, err := store.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	opts, err := cfg.Audit.Options(zerolog.Nop())
	if err != nil {
		return err
	}
	log, err := audit.Open(ctx, db, opts)
	if err != nil {
		return err
	}
	defer log.Close()
	return fn(db, log)
}

func recordKeyChange(ctx context.Context, log *audit.Log, cfg *config.Config, id, action string) error {
	_, err := log.Append(ctx, audit.Record{Time: time.Now(), Kind: audit.KindAdminKey, Workspace: cfg.Workspace.ID,
		Target: id, Action: action, Status: 200, KeyID: "cli"})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func split(csv string) []string {
	var out []string
	for _, s := range strings.Split(csv, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func list(csv string) string {
	parts := split(csv)
	for i, p := range parts {
		parts[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(parts, ", ")
}
