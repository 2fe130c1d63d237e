package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"
)

const chatPath = "/v1/chat/completions"

// target is one way to reach the upstream and the request it is sent.
type target struct {
	name string
	call call
	proc *child // the proxy's process, whose CPU and syscalls are counted; nil for direct
}

// crispProc is one running crisp.
type crispProc struct {
	variant
	proc *child
	log  string
}

// servers are the child processes of one run.
type servers struct {
	upstream, floor *child
	crisps          []*crispProc
}

func (s *servers) stop() {
	// crisp and the floor first, so they do not log a vanished upstream.
	for _, c := range s.crisps {
		c.proc.stop()
	}
	s.floor.stop()
	s.upstream.stop()
}

func (s *servers) crisp(name string) *crispProc {
	for _, c := range s.crisps {
		if c.name == name {
			return c
		}
	}
	return nil
}

// plan is what one run measures, from the flags.
type plan struct {
	modes      []string
	concs      []int
	variants   []variant // the crisp processes to start
	chat       []variant // the crisp targets of the chat cells
	drafts     bool
	draftConcs []int
	mcp        bool // call get_customer_context over MCP on the full crisp
	mcpConcs   []int
}

// drive runs the whole benchmark and prints the report. It reports whether
// a goal was missed.
func drive(ctx context.Context, o options, stdout, stderr io.Writer) (bool, error) {
	if o.n < 1 || o.n32 < 1 || o.nDrafts < 1 || o.nMCP < 1 || o.rounds < 1 {
		return false, errors.New("-n, -n32, -nd, -nm and -rounds must be positive")
	}
	p, err := makePlan(o)
	if err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp("", "crisp-bench-")
	if err != nil {
		return false, err
	}
	if o.keep {
		fmt.Fprintf(stderr, "temporary files in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	srv, err := startServers(ctx, o, p.variants, dir, stderr)
	defer srv.stop() // also on error and Ctrl-C: no child outlives the run
	if err != nil {
		return false, err
	}
	rep := &report{
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), RequestBytes: requestSize,
		FloorMaxIdleConnsPerHost: floorMaxIdlePerHost, Rounds: o.rounds, InProcess: o.profile != "",
		LoadAvgBefore: loadAvg(), PeakRSSMB: map[string]float64{},
	}
	if err := runChat(ctx, o, p, srv, rep, stderr); err != nil {
		return false, err
	}
	if p.drafts {
		full := srv.crisp(nameFull)
		t := []target{{nameFull, draftCall("http://" + full.proc.addr), full.proc}}
		for _, conc := range p.draftConcs {
			res, err := runCell(ctx, o, "drafts", t, conc, o.nDrafts, stderr)
			if err != nil {
				return false, err
			}
			rep.Drafts = append(rep.Drafts, res...)
		}
	}
	if p.mcp {
		if rep.MCP, err = runMCP(ctx, o, p, srv.crisp(nameFull), stderr); err != nil {
			return false, err
		}
	}
	// VmHWM is read before crisp is stopped: it is gone after.
	for _, c := range srv.crisps {
		rep.PeakRSSMB[c.name] = c.proc.peakRSS()
	}
	rep.CrispPeakRSSMB = rep.PeakRSSMB[nameCrisp]
	rep.FloorPeakRSSMB = srv.floor.peakRSS()
	rep.LoadAvgAfter = loadAvg()
	rep.judge()
	rep.print(stdout)
	if o.jsonOut != "" {
		if err := rep.writeJSON(o.jsonOut); err != nil {
			return false, err
		}
	}
	if o.profile != "" {
		srv.stop() // writes the profiles
		fmt.Fprintln(stdout, "\nprofiles (floor.cpu.pprof for comparison):")
		for _, c := range srv.crisps {
			fmt.Fprintf(stdout, "  go tool pprof -top %s\n  go tool pprof -top -sample_index=alloc_space %s\n",
				filepath.Join(o.profile, c.file+".cpu.pprof"), filepath.Join(o.profile, c.file+".allocs.pprof"))
		}
	}
	return rep.missed(), nil
}

// runChat measures the 1 KB chat request in every mode and concurrency,
// against direct, the floor and each crisp of the plan.
func runChat(ctx context.Context, o options, p plan, srv *servers, rep *report, stderr io.Writer) error {
	if len(p.chat) == 0 {
		return nil
	}
	for _, mode := range p.modes {
		stream := mode == "stream"
		body, err := chatRequest(stream)
		if err != nil {
			return err
		}
		targets := []target{
			{"direct", chatCall("http://"+srv.upstream.addr+chatPath, body, stream, nil), nil},
			{"floor", chatCall("http://"+srv.floor.addr+chatPath, body, stream, nil), srv.floor},
		}
		for _, v := range p.chat {
			c := srv.crisp(v.name)
			targets = append(targets, target{v.name, crispChat(v, "http://"+c.proc.addr, body, stream), c.proc})
		}
		for _, conc := range p.concs {
			n := o.n32
			if conc == 1 {
				n = o.n
			}
			res, err := runCell(ctx, o, mode, targets, conc, n, stderr)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, res...)
		}
	}
	return nil
}

// makePlan reads -modes, -conc, -cells, -draft-conc and -mcp-conc.
func makePlan(o options) (plan, error) {
	var p plan
	p.modes = list(o.modes)
	for _, m := range p.modes {
		if m != "non-stream" && m != "stream" {
			return p, fmt.Errorf("-modes: unknown mode %q (non-stream, stream)", m)
		}
	}
	var err error
	if p.concs, err = concList("-conc", o.conc); err != nil {
		return p, err
	}
	if p.draftConcs, err = concList("-draft-conc", o.draftConc); err != nil {
		return p, err
	}
	if p.mcpConcs, err = concList("-mcp-conc", o.mcpConc); err != nil {
		return p, err
	}
	all := crispVariants()
	names := []string{"drafts", "mcp"}
	for _, v := range all {
		names = append(names, v.cell)
	}
	cells := list(o.cells)
	for _, c := range cells {
		if !slices.Contains(names, c) {
			return p, fmt.Errorf("-cells: unknown cell %q (%v)", c, names)
		}
	}
	p.drafts = slices.Contains(cells, "drafts")
	p.mcp = slices.Contains(cells, "mcp")
	for _, v := range all {
		chat := slices.Contains(cells, v.cell)
		if chat {
			p.chat = append(p.chat, v)
		}
		if chat || (v.full && (p.drafts || p.mcp)) {
			p.variants = append(p.variants, v)
		}
	}
	if len(p.chat) > 0 && (len(p.modes) == 0 || len(p.concs) == 0) {
		return p, errors.New("-modes and -conc must name at least one")
	}
	if p.mcp && len(p.mcpConcs) == 0 {
		return p, errors.New("-mcp-conc must name at least one")
	}
	if len(p.variants) == 0 {
		return p, errors.New("-cells must name at least one")
	}
	return p, nil
}

func concList(flag, s string) ([]int, error) {
	var out []int
	for _, c := range list(s) {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: bad concurrency %q", flag, c)
		}
		out = append(out, n)
	}
	return out, nil
}

// startServers starts the upstream, the floor and each crisp, each in its
// own process, and waits until every crisp is ready.
func startServers(ctx context.Context, o options, variants []variant, dir string, stderr io.Writer) (*servers, error) {
	self, err := os.Executable()
	if err != nil {
		return &servers{}, err
	}
	s := &servers{}
	var profile []string
	if o.profile != "" {
		abs, err := filepath.Abs(o.profile)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			return s, err
		}
		profile = []string{"-profile", abs}
	}
	if s.upstream, err = startChild("upstream", self, []string{"-role", "upstream"},
		filepath.Join(dir, "upstream.log"), true); err != nil {
		return s, err
	}
	// The floor runs from its own copy of this program. The upstream and
	// the load generator are this program too, and processes of one
	// executable share its code's physical pages, so a floor run from it
	// finds its code warm in the CPU caches the other two keep warm, as no
	// proxy in production (nor crisp here) does: on this machine that was
	// 8-31 µs of its c=1 overhead.
	floorBin := filepath.Join(dir, "floor-proxy")
	if err := copyFile(self, floorBin, 0o755); err != nil {
		return s, fmt.Errorf("copy the floor's executable: %w", err)
	}
	if s.floor, err = startChild("floor", floorBin, append([]string{"-role", "floor", "-upstream", s.upstream.addr}, profile...),
		filepath.Join(dir, "floor.log"), true); err != nil {
		return s, err
	}
	bin := o.crispBin
	switch {
	case o.profile != "":
		// In-process crisps are this program too: a copy of their own,
		// for the floor's reason.
		bin = filepath.Join(dir, "crisp-inproc")
		if err := copyFile(self, bin, 0o755); err != nil {
			return s, fmt.Errorf("copy the in-process crisps' executable: %w", err)
		}
	case bin == "":
		fmt.Fprintln(stderr, "building ./cmd/crisp …")
		if bin, err = buildCrisp(ctx, dir); err != nil {
			return s, err
		}
	}
	for _, v := range variants {
		addr, err := freeAddr()
		if err != nil {
			return s, err
		}
		cfg, err := writeCrispConfig(dir, v, addr, s.upstream.addr)
		if err != nil {
			return s, err
		}
		c := &crispProc{variant: v, log: filepath.Join(dir, v.file+".log")}
		if o.profile != "" {
			c.proc, err = startChild(v.name+" (in-process)", bin,
				append([]string{"-role", "crisp-inproc", "-name", v.file, "-config", cfg, "-addr", addr}, profile...), c.log, false)
		} else {
			c.proc, err = startChild(v.name, bin, []string{"serve", "--config", filepath.Dir(cfg), "--addr", addr,
				"--db", filepath.Join(filepath.Dir(cfg), "crisp.db")}, c.log, false)
		}
		if err != nil {
			return s, err
		}
		c.proc.addr = addr
		s.crisps = append(s.crisps, c)
	}
	for _, c := range s.crisps {
		if err := c.proc.waitReady(ctx, c.log); err != nil {
			return s, err
		}
	}
	return s, nil
}

// runCell measures one mode at one concurrency against every target. The
// measured requests are split into rounds, and each round rotates which
// target goes first, so drift on the machine (other work, thermal state)
// falls on all of them alike.
func runCell(ctx context.Context, o options, mode string, targets []target, conc, n int, stderr io.Writer) ([]result, error) {
	client := newClient(conc)
	defer client.CloseIdleConnections()
	acc := make([]runResult, len(targets))
	warm := max(int(float64(n)*o.warmup), 100)
	fmt.Fprintf(stderr, "%s c=%d: warm-up", mode, conc)
	for i, t := range targets {
		r := load(ctx, client, t.call, conc, warm, o.maxDuration)
		acc[i].errors += r.errors
		acc[i].errTexts = append(acc[i].errTexts, r.errTexts...)
	}
	per := max(n/o.rounds, 1)
	for round := range o.rounds {
		fmt.Fprintf(stderr, ", round %d", round+1)
		for k := range targets {
			i := (k + round) % len(targets)
			r := measure(ctx, client, targets[i], conc, per, o.maxDuration/time.Duration(o.rounds))
			a := &acc[i]
			a.proc, a.procOK = a.proc.add(r.proc), (round == 0 || a.procOK) && r.procOK
			a.samples = append(a.samples, r.samples...)
			a.errors += r.errors
			a.errTexts = append(a.errTexts, r.errTexts...)
			a.elapsed += r.elapsed
			a.capped = a.capped || r.capped
			if ctx.Err() != nil {
				fmt.Fprintln(stderr)
				return nil, ctx.Err()
			}
		}
	}
	fmt.Fprintln(stderr)
	out := make([]result, len(targets))
	for i, t := range targets {
		out[i] = summarize(mode, conc, t.name, acc[i])
	}
	return out, nil
}

// measure is load with the proxy process's CPU time and syscalls counted.
func measure(ctx context.Context, client *http.Client, t target, conc, n int, maxDur time.Duration) runResult {
	if t.proc == nil {
		return load(ctx, client, t.call, conc, n, maxDur)
	}
	before, ok1 := t.proc.usage()
	r := load(ctx, client, t.call, conc, n, maxDur)
	after, ok2 := t.proc.usage()
	r.proc, r.procOK = after.sub(before), ok1 && ok2
	return r
}
