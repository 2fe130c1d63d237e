// Command crisp is the governed-context layer between support tools and LLM
// providers. See `crisp help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is crisp's default GOGC. Crisp's live heap is small (~10 MB)
// and its garbage is per request, so Go's default of 100 lets the heap
// double between collections for nothing: 70 kept a serving crisp's peak
// resident memory 3–5 MB lower in the load benchmark (bench/load), for a
// little more collection work. GOGC in the environment still wins.
const gcPercent = 70

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}
