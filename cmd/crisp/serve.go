package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/crisphq/crisp/internal/residency"
	"github.com/crisphq/crisp/server"
)

const serveSynopsis = `Serves the OpenAI-compatible proxy (/v1/...), the APIs and /healthz, /readyz.
With no flags it serves the example workspace (Acme) on SQLite (crisp.db).
On SIGTERM or Ctrl-C it stops accepting, lets in-flight requests and streams
finish (server.shutdown_timeout), then exits.`

func runServe(ctx context.Context, e env, args []string) error {
	fs := newFlags("serve", serveSynopsis, e)
	var c common
	c.register(fs, e)
	addr := fs.String("addr", e.getenv("CRISP_ADDR"), "listen address host:port (env CRISP_ADDR; default 127.0.0.1:8080)")
	cert := fs.String("tls-cert", e.getenv("CRISP_TLS_CERT"), "PEM certificate; with --tls-key, serve HTTPS only (env CRISP_TLS_CERT)")
	key := fs.String("tls-key", e.getenv("CRISP_TLS_KEY"), "PEM private key (env CRISP_TLS_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	if *cert != "" || *key != "" {
		if *cert == "" || *key == "" {
			return fmt.Errorf("--tls-cert and --tls-key go together")
		}
		cfg.Server.TLS.Cert, cfg.Server.TLS.Key = *cert, *key
	}
	log, closeLog := server.NewBufferedLogger(cfg.Logging, e.stderr)
	defer closeLog()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, func(addr string) {
		scheme := "http"
		if cfg.Server.TLS.Enabled() {
			scheme = "https"
		}
		log.Info().Str("addr", addr).Str("workspace", cfg.Workspace.ID).Bool("tls", cfg.Server.TLS.Enabled()).Msg("crisp serving")
		// Start-up is over: the executable's pages only it touched need
		// not stay resident (see package residency).
		if n, err := residency.ReleaseExecutable(); err != nil {
			log.Warn().Err(err).Msg("could not release start-up pages")
		} else {
			log.Debug().Int64("bytes", n).Msg("released the executable's start-up pages")
		}
		fmt.Fprintf(e.stdout, "crisp is serving the %s workspace at %s://%s\n", cfg.Workspace.Name, scheme, addr)
		fmt.Fprintf(e.stdout, "  OpenAI base URL: %s://%s/v1   demo keys: ck_demo_support, ck_demo_success, ck_demo_sales, ck_demo_admin (demo only)\n", scheme, addr)
		fmt.Fprintf(e.stdout, "  Workspace UI: %s://%s/\n", scheme, addr)
		if d := srv.Demo(); len(d.Members) > 0 {
			var members, admins []string
			for _, m := range d.Members {
				if m.Role == "admin" {
					admins = append(admins, m.Email)
				} else {
					members = append(members, m.Email)
				}
			}
			fmt.Fprintf(e.stdout, "  Sign in as %s (members) or %s (admin), password %s (demo only)\n",
				strings.Join(members, ", "), strings.Join(admins, ", "), d.Password)
		}
	})
}
