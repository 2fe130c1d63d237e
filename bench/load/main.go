// Command load is crisp's load benchmark. In one run it drives a fast fake
// OpenAI upstream with the same 1 KB chat request, complete and streamed:
// directly, through a bare httputil.ReverseProxy (the floor: what any Go
// proxy costs on this machine), through crisp as a plain proxy, through a
// second crisp with its audit disabled (what the audit costs) and through a
// third with everything on, the request naming the example customer
// (identity, policy, context pack, redaction both ways, provider flags), at
// concurrency 1 (clean per-request overhead) and 32 (throughput). Then it
// drafts replies through POST /api/v1/drafts on the full crisp, and calls
// the MCP tool get_customer_context on it over streamable HTTP. It prints
// req/s, p50, p99, time to first byte for streams, each proxy's overhead
// over direct, every crisp's peak RSS and whether each goal is met.
//
// Every server runs in its own process, so the fight is fair and crisp's
// RSS is its own: this program plays the upstream and, from a copy of its
// executable so that it shares no code pages with the upstream and the
// load generator, the floor (the hidden -role flag); crisp is built from
// ./cmd/crisp and run as `crisp serve`. Everything listens on 127.0.0.1
// only, and every child is killed when the run ends or is interrupted. It
// must never edit the tree it measures; it writes only to a temporary
// directory (and -json).
//
// Run it from the repository root:
//
//	go run ./bench/load
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	n, n32      int           // measured requests per target per cell at c=1 and c=32
	warmup      float64       // warm-up requests as a fraction of n (at least 100)
	rounds      int           // each cell is split into this many interleaved rounds
	maxDuration time.Duration // cap on one target's measured time in one cell
	modes       string        // which modes to run: non-stream,stream
	conc        string        // which concurrencies to run: 1,32
	cells       string        // which crisps and sections to run: crisp,noaudit,full,drafts,mcp
	nDrafts     int           // measured drafts per concurrency
	draftConc   string        // the drafts' concurrencies: 1,8
	nMCP        int           // measured MCP calls per concurrency
	mcpConc     string        // the MCP calls' concurrencies: 1,16
	jsonOut     string        // write results here as JSON
	crispBin    string        // a prebuilt crisp binary; empty builds ./cmd/crisp
	profile     string        // run each crisp in-process with profiles written to this folder
	keep        bool          // keep the temporary directory (logs, config)
	strict      bool          // exit 1 when a goal is missed
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	role := fs.String("role", "", "internal: upstream, floor or crisp-inproc (the driver starts these itself)")
	name := fs.String("name", "crisp", "internal: the profiles' name, for -role crisp-inproc")
	upstreamAddr := fs.String("upstream", "", "internal: the upstream's host:port, for -role floor")
	cfgPath := fs.String("config", "", "internal: crisp.yaml, for -role crisp-inproc")
	addr := fs.String("addr", "127.0.0.1:0", "internal: listen address for a role")
	fs.IntVar(&o.n, "n", 8000, "measured requests per target per cell at concurrency 1")
	fs.IntVar(&o.n32, "n32", 16000, "measured requests per target per cell at concurrency 32")
	fs.IntVar(&o.nDrafts, "nd", 2000, "measured drafts per concurrency")
	fs.Float64Var(&o.warmup, "warmup", 0.1, "warm-up requests per target per cell, as a fraction of -n/-n32 (at least 100)")
	fs.IntVar(&o.rounds, "rounds", 16, "split each cell into this many rounds, rotating the order of the targets")
	fs.DurationVar(&o.maxDuration, "max-duration", 30*time.Second, "cap on one target's measured time in one cell")
	fs.StringVar(&o.modes, "modes", "non-stream,stream", "modes to run")
	fs.StringVar(&o.conc, "conc", "1,32", "concurrencies to run")
	fs.IntVar(&o.nMCP, "nm", 4000, "measured MCP get_customer_context calls per concurrency")
	fs.StringVar(&o.cells, "cells", "crisp,noaudit,full,drafts,mcp", "crisps to measure besides direct and the floor (crisp, noaudit, full), whether to draft (drafts) and whether to call the MCP tool (mcp)")
	fs.StringVar(&o.draftConc, "draft-conc", "1,8", "the drafts' concurrencies")
	fs.StringVar(&o.mcpConc, "mcp-conc", "1,16", "the MCP calls' concurrencies (one session per worker)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results to this file as JSON")
	fs.StringVar(&o.crispBin, "crisp", "", "use this crisp binary instead of building ./cmd/crisp")
	fs.StringVar(&o.profile, "profile", "", "run each crisp in-process (-role crisp-inproc) and write their and the floor's CPU and allocation profiles to this folder")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (crisp's config and logs)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a goal is missed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./bench/load [flags]   (from the repository root)\n\nFlags:")
		internal := map[string]bool{"role": true, "name": true, "upstream": true, "config": true, "addr": true}
		fs.VisitAll(func(f *flag.Flag) {
			if !internal[f.Name] {
				fmt.Fprintf(stderr, "  -%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
			}
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch *role {
	case "":
		var missed bool
		missed, err = drive(ctx, o, stdout, stderr)
		if err == nil && missed && o.strict {
			return 1
		}
	case "upstream":
		err = serveUpstream(ctx, *addr, stdout)
	case "floor":
		err = serveFloor(ctx, *addr, *upstreamAddr, o.profile, stdout, stderr)
	case "crisp-inproc":
		err = serveCrispInproc(ctx, *addr, *cfgPath, *name, o.profile, stdout, stderr)
	default:
		err = fmt.Errorf("unknown role %q", *role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	return 0
}

// list splits a comma-separated flag.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
