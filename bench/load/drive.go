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
	"strconv"
	"time"
)

const chatPath = "/v1/chat/completions"

// target is one way to reach the upstream.
type target struct {
	name string
	url  string
	proc *child // the proxy's process, whose CPU and syscalls are counted; nil for direct
}

// servers are the child processes of one run.
type servers struct {
	upstream, floor, crisp *child
	crispLog               string
}

func (s *servers) stop() {
	// crisp and the floor first, so they do not log a vanished upstream.
	s.crisp.stop()
	s.floor.stop()
	s.upstream.stop()
}

// drive runs the whole benchmark and prints the report. It reports whether
// a goal was missed.
func drive(ctx context.Context, o options, stdout, stderr io.Writer) (bool, error) {
	if o.n < 1 || o.n32 < 1 || o.rounds < 1 {
		return false, errors.New("-n, -n32 and -rounds must be positive")
	}
	modes, concs, err := cells(o)
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
	srv, err := startServers(ctx, o, dir, stderr)
	defer srv.stop() // also on error and Ctrl-C: no child outlives the run
	if err != nil {
		return false, err
	}
	targets := []target{
		{"direct", "http://" + srv.upstream.addr + chatPath, nil},
		{"floor", "http://" + srv.floor.addr + chatPath, srv.floor},
		{"crisp", "http://" + srv.crisp.addr + chatPath, srv.crisp},
	}
	rep := &report{
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), RequestBytes: requestSize,
		FloorMaxIdleConnsPerHost: floorMaxIdlePerHost, Rounds: o.rounds, InProcess: o.profile != "",
		LoadAvgBefore: loadAvg(),
	}
	for _, mode := range modes {
		body, err := chatRequest(mode == "stream")
		if err != nil {
			return false, err
		}
		for _, conc := range concs {
			n := o.n32
			if conc == 1 {
				n = o.n
			}
			res, err := runCell(ctx, o, targets, mode, body, conc, n, stderr)
			if err != nil {
				return false, err
			}
			rep.Results = append(rep.Results, res...)
		}
	}
	// VmHWM is read before crisp is stopped: it is gone after.
	rep.CrispPeakRSSMB = srv.crisp.peakRSS()
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
		fmt.Fprintf(stdout, "\nprofiles: go tool pprof -top %s (and floor.cpu.pprof)\n          go tool pprof -top -sample_index=alloc_space %s\n",
			filepath.Join(o.profile, "crisp.cpu.pprof"), filepath.Join(o.profile, "crisp.allocs.pprof"))
	}
	return rep.missed(), nil
}

// cells reads -modes and -conc.
func cells(o options) ([]string, []int, error) {
	modes := list(o.modes)
	for _, m := range modes {
		if m != "non-stream" && m != "stream" {
			return nil, nil, fmt.Errorf("-modes: unknown mode %q (non-stream, stream)", m)
		}
	}
	var concs []int
	for _, c := range list(o.conc) {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("-conc: bad concurrency %q", c)
		}
		concs = append(concs, n)
	}
	if len(modes) == 0 || len(concs) == 0 {
		return nil, nil, errors.New("-modes and -conc must name at least one")
	}
	return modes, concs, nil
}

// startServers starts the upstream, the floor and crisp, each in its own
// process, and waits until crisp is ready.
func startServers(ctx context.Context, o options, dir string, stderr io.Writer) (*servers, error) {
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
	if s.floor, err = startChild("floor", self, append([]string{"-role", "floor", "-upstream", s.upstream.addr}, profile...),
		filepath.Join(dir, "floor.log"), true); err != nil {
		return s, err
	}
	addr, err := freeAddr()
	if err != nil {
		return s, err
	}
	cfg, err := writeCrispConfig(dir, addr, s.upstream.addr)
	if err != nil {
		return s, err
	}
	s.crispLog = filepath.Join(dir, "crisp.log")
	if o.profile != "" {
		s.crisp, err = startChild("crisp (in-process)", self,
			append([]string{"-role", "crisp-inproc", "-config", cfg, "-addr", addr}, profile...), s.crispLog, false)
		if err != nil {
			return s, err
		}
	} else {
		bin := o.crispBin
		if bin == "" {
			fmt.Fprintln(stderr, "building ./cmd/crisp …")
			if bin, err = buildCrisp(ctx, dir); err != nil {
				return s, err
			}
		}
		s.crisp, err = startChild("crisp", bin,
			[]string{"serve", "--config", dir, "--addr", addr, "--db", filepath.Join(dir, "crisp.db")}, s.crispLog, false)
		if err != nil {
			return s, err
		}
	}
	s.crisp.addr = addr
	return s, s.crisp.waitReady(ctx, s.crispLog)
}

// runCell measures one mode at one concurrency against every target. The
// measured requests are split into rounds, and each round rotates which
// target goes first, so drift on the machine (other work, thermal state)
// falls on all three alike.
func runCell(ctx context.Context, o options, targets []target, mode string, body []byte, conc, n int, stderr io.Writer) ([]result, error) {
	stream := mode == "stream"
	client := newClient(conc)
	defer client.CloseIdleConnections()
	acc := make([]runResult, len(targets))
	warm := max(int(float64(n)*o.warmup), 100)
	fmt.Fprintf(stderr, "%s c=%d: warm-up", mode, conc)
	for i, t := range targets {
		r := load(ctx, client, t.url, body, stream, conc, warm, o.maxDuration)
		acc[i].errors += r.errors
		acc[i].errTexts = append(acc[i].errTexts, r.errTexts...)
	}
	per := max(n/o.rounds, 1)
	for round := range o.rounds {
		fmt.Fprintf(stderr, ", round %d", round+1)
		for k := range targets {
			i := (k + round) % len(targets)
			r := measure(ctx, client, targets[i], body, stream, conc, per, o.maxDuration/time.Duration(o.rounds))
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
func measure(ctx context.Context, client *http.Client, t target, body []byte, stream bool, conc, n int, maxDur time.Duration) runResult {
	if t.proc == nil {
		return load(ctx, client, t.url, body, stream, conc, n, maxDur)
	}
	before, ok1 := t.proc.usage()
	r := load(ctx, client, t.url, body, stream, conc, n, maxDur)
	after, ok2 := t.proc.usage()
	r.proc, r.procOK = after.sub(before), ok1 && ok2
	return r
}
