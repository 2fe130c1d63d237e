package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is the process's outside world, passed in so tests can run commands.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the proxy, the APIs and the workspace UI", runServe},
		{"mcp", "serve the MCP tools over stdio for agents (key: --key or CRISP_KEY)", runMCP},
		{"keys", "manage crisp API keys (keys create, list, revoke)", runKeys},
		{"sign", "print the signed identity (X-Crisp-User-Hash) for a customer id", runSign},
		{"catalog", "check the catalog of customer fields (catalog lint, catalog diff REV)", runCatalog},
		{"import", "import customers, accounts and events from JSONL (Segment) or CSV files", runImport},
		{"policy", "test and explain the access rules (policy test, policy explain)", runPolicy},
		{"audit", "review the audit trail (audit list, show, verify, export, keygen)", runAudit},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := c.run(ctx, e, args[1:]); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				if !errors.Is(err, errUsage) {
					fmt.Fprintf(e.stderr, "crisp %s: %v\n", c.name, err)
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(e.stderr, "crisp: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "crisp — governed customer context for support AI")
	fmt.Fprintln(w, "\nUsage: crisp <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'crisp <command> --help' for a command's flags.")
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := newFlags("version", "", e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "crisp %s\n", version)
	return nil
}

// common are the flags every command that reads state takes.
type common struct {
	config string
	db     string
}

func (c *common) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&c.config, "config", e.getenv("CRISP_CONFIG"), "definitions folder or crisp.yaml (env CRISP_CONFIG; default: the embedded example workspace)")
	fs.StringVar(&c.db, "db", e.getenv("CRISP_DB"), "database: a SQLite path, sqlite:PATH or a postgres:// URL (env CRISP_DB; default sqlite:crisp.db)")
}

// defs is where the definitions live: the embedded example workspace, or
// the folder --config names.
type defs struct {
	fsys fs.FS  // the definitions folder
	dir  string // its path on disk; empty for the embedded example
}

// load reads the configuration and applies --db.
func (c *common) load(e env) (*config.Config, error) {
	cfg, _, err := c.loadDefs(e)
	return cfg, err
}

// loadDefs reads the configuration and says where its definitions live.
func (c *common) loadDefs(e env) (*config.Config, defs, error) {
	var cfg *config.Config
	var err error
	d := defs{fsys: configs.FS}
	if c.config == "" {
		data, rerr := configs.FS.ReadFile("crisp.yaml")
		if rerr != nil {
			return nil, d, rerr
		}
		cfg, err = config.Parse("configs/crisp.yaml (embedded)", data, e.getenv)
	} else {
		path := c.config
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			path = filepath.Join(path, "crisp.yaml")
		}
		d.dir = filepath.Dir(path)
		d.fsys = os.DirFS(d.dir)
		cfg, err = config.LoadFile(path, e.getenv)
	}
	if err != nil {
		return nil, d, err
	}
	if c.db != "" {
		cfg.Storage.DSN = normalizeDSN(c.db)
	}
	return cfg, d, nil
}

// normalizeDSN accepts a bare SQLite path as well as sqlite:PATH.
func normalizeDSN(s string) string {
	if strings.HasPrefix(s, "sqlite:") || strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return s
	}
	return "sqlite:" + s
}

func newFlags(name, synopsis string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("crisp "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: crisp %s [flags]\n", name)
		if synopsis != "" {
			fmt.Fprintf(e.stderr, "\n%s\n", synopsis)
		}
		fmt.Fprintln(e.stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// quietLogger is for commands whose output is their answer.
func quietLogger() zerolog.Logger { return zerolog.Nop() }
