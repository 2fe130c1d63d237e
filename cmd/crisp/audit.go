package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/store"
)

const auditSynopsis = `audit list [filters]          the workspace's audit records, newest first (--json for JSON lines)
audit show ID                 one record, as JSON
audit verify                  recompute the hash chain and check the signed checkpoints; exits 1
                              and names the first record that does not fit when the chain is broken
audit export [filters]        every selected record, oldest first: --format jsonl|csv, to stdout or --out FILE
audit keygen                  print a new checkpoint signing key (for audit.signing_key) and its public key

Filters: --from, --to (RFC 3339, a date, or a duration back from now such as 24h), --since,
--member, --customer, --account, --action, --decision allow|deny, --model, --provider, --kind.`

func runAudit(ctx context.Context, e env, args []string) error {
	subs := map[string]bool{"list": true, "show": true, "verify": true, "export": true, "keygen": true}
	if len(args) == 0 || !subs[args[0]] {
		fmt.Fprintln(e.stderr, "Usage: crisp audit list|show|verify|export|keygen [flags]\n\n"+auditSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	if sub == "keygen" {
		private, public, err := audit.NewSigningKey()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "signing key (keep secret; set CRISP_AUDIT_SIGNING_KEY or audit.signing_key): %s\npublic key (for verifiers: --public-key or audit.verify_keys): %s\n", private, public)
		return nil
	}
	fs := newFlags("audit "+sub, auditSynopsis, e)
	var c common
	c.register(fs, e)
	ws := fs.String("workspace", "", "workspace id (default: the configuration's)")
	pubKey := fs.String("public-key", e.getenv("CRISP_AUDIT_PUBLIC_KEY"), "verify: also trust checkpoints signed by this ed25519 public key, base64 or hex (env CRISP_AUDIT_PUBLIC_KEY)")
	filters := map[string]*string{}
	if sub == "list" || sub == "export" {
		for _, name := range audit.FilterParams {
			if name == "limit" || name == "cursor" {
				continue
			}
			filters[name] = fs.String(name, "", "filter: "+name)
		}
	}
	limit := fs.Int("limit", 50, "list: records per page (at most 1000)")
	cursor := fs.String("cursor", "", "list: the next page's cursor, as printed after a page")
	asJSON := fs.Bool("json", false, "list: JSON lines instead of a table")
	format := fs.String("format", audit.FormatJSONL, "export: jsonl or csv")
	out := fs.String("out", "", "export: write to FILE instead of stdout")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	if *ws == "" {
		*ws = cfg.Workspace.ID
	}
	l, closeAll, err := openAuditLog(ctx, cfg, e, *pubKey)
	if err != nil {
		return err
	}
	defer closeAll()
	switch sub {
	case "show":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: crisp audit show ID")
		}
		r, err := l.Get(ctx, *ws, fs.Arg(0))
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return nil
	case "verify":
		return auditVerify(ctx, e, l, *ws)
	}
	q := url.Values{}
	for name, v := range filters {
		if *v != "" {
			q.Set(name, *v)
		}
	}
	q.Set("limit", strconv.Itoa(*limit))
	q.Set("cursor", *cursor)
	f, err := audit.ParseFilter(q, time.Now())
	if err != nil {
		return err
	}
	f.Workspace = *ws
	if sub == "list" {
		return auditList(ctx, e, l, f, *asJSON)
	}
	return auditExport(ctx, e, l, f, *format, *out)
}

// auditConfig is the audit section of the configuration.
func auditConfig(cfg *config.Config, _ env) audit.Config { return cfg.Audit }

// openAuditLog opens the store and a read-only audit log on it.
func openAuditLog(ctx context.Context, cfg *config.Config, e env, pubKey string) (*audit.Log, func(), error) {
	opts, err := auditConfig(cfg, e).Options(zerolog.Nop())
	if err != nil {
		return nil, nil, err
	}
	if pubKey != "" {
		pub, err := audit.ParsePublicKey(pubKey)
		if err != nil {
			return nil, nil, fmt.Errorf("--public-key: %w", err)
		}
		opts.VerifyKeys = append(opts.VerifyKeys, pub)
	}
	opts.ReadOnly = true
	db, err := store.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		return nil, nil, err
	}
	l, err := audit.Open(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return l, func() { l.Close(); db.Close() }, nil
}

var errChainBroken = errors.New("the audit chain is broken")

func auditVerify(ctx context.Context, e env, l *audit.Log, ws string) error {
	v, err := l.Verify(ctx, ws)
	if err != nil {
		return err
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	if !v.OK {
		id := v.BadID
		if id == "" {
			id = "missing"
		}
		fmt.Fprintf(e.stdout, "BROKEN workspace %s: first bad record seq %d (%s): %s\n", ws, v.BadSeq, id, v.Reason)
		return fmt.Errorf("%w at seq %d (%s)", errChainBroken, v.BadSeq, id)
	}
	fmt.Fprintf(e.stdout, "ok workspace %s: %d records (seq %d..%d), head %s; %d checkpoints, signed through seq %d",
		ws, v.Records, v.FirstSeq, v.LastSeq, orDash(v.HeadHash), v.Checkpoints, v.SignedThrough)
	if v.PrunedThrough > 0 {
		fmt.Fprintf(e.stdout, "; pruned through seq %d", v.PrunedThrough)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

func auditList(ctx context.Context, e env, l *audit.Log, f audit.Filter, asJSON bool) error {
	recs, next, err := l.List(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		for _, r := range recs {
			b, _ := json.Marshal(r)
			fmt.Fprintf(e.stdout, "%s\n", b)
		}
	} else {
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tID\tKIND\tMEMBER\tACTION\tCUSTOMER\tDECISION\tMODEL\tSTATUS\tERROR")
		for _, r := range recs {
			decision := "deny"
			if r.Decision.Allow {
				decision = "allow"
			}
			if r.Kind != audit.KindAIUse {
				decision = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Seq, r.Time.UTC().Format(time.RFC3339),
				r.ID, r.Kind, orDash(r.Member), orDash(r.Action), orDash(r.CustomerID), decision, orDash(r.Model),
				r.Status, orDash(r.ErrorCode))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if next != "" {
		fmt.Fprintf(e.stderr, "more: --cursor %s\n", next)
	}
	return nil
}

func auditExport(ctx context.Context, e env, l *audit.Log, f audit.Filter, format, out string) error {
	var w io.Writer = e.stdout
	var file *os.File
	if out != "" {
		var err error
		// Records name members and customers: readable by the owner only.
		if file, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		w = file
	}
	err := l.Export(ctx, f.Workspace, f, format, w)
	if file != nil {
		err = errors.Join(err, file.Close())
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
