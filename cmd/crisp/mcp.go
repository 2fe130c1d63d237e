package main

import (
	"context"
	"fmt"

	"github.com/crisphq/crisp/server"
)

const mcpSynopsis = `Serves crisp's MCP tools over stdio (newline-delimited JSON-RPC on stdin and
stdout), for MCP clients that start a command: Claude Desktop, Cursor and the
like. Every call is policy-checked, redacted and audited as the crisp key's
member or workflow, as over HTTP at /mcp. Logs go to stderr only.

Example client configuration:
  {"mcpServers": {"crisp": {"command": "crisp", "args": ["mcp"],
                            "env": {"CRISP_KEY": "ck_demo_support"}}}}`

func runMCP(ctx context.Context, e env, args []string) error {
	fs := newFlags("mcp", mcpSynopsis, e)
	var c common
	c.register(fs, e)
	key := fs.String("key", "", "the crisp key the tools act as (default: env CRISP_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *key == "" {
		*key = e.getenv("CRISP_KEY")
	}
	if *key == "" {
		fmt.Fprintln(e.stderr, "crisp mcp: give the crisp key with --key or CRISP_KEY")
		return errUsage
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	// stdout carries the protocol: every log line goes to stderr.
	log, closeLog := server.NewBufferedLogger(cfg.Logging, e.stderr)
	defer closeLog()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.MCP().Serve(ctx, *key, e.stdin, e.stdout)
}
