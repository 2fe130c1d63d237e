package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/providers/openaiwire"
	"github.com/crisphq/crisp/server"
)

// The fake upstream's answer. Streams carry it in these pieces, so a
// client can check the pieces add up to the whole.
var answerPieces = []string{
	"Your trial ", "includes five seats; ", "the Growth plan ", "raises that limit ",
	"to twenty, ", "and upgrading ", "keeps every setting ", "you have today.",
}

func answer() string { return strings.Join(answerPieces, "") }

// upstream is a fast fake OpenAI provider: every answer is precomputed, so
// what it costs is the HTTP server and little else. It ignores auth.
type upstream struct {
	complete []byte   // a chat.completion
	frames   [][]byte // SSE frames of a streamed answer, [DONE] last
	bufs     sync.Pool
}

func newUpstream() *upstream {
	const id, model, created = "chatcmpl-bench", "gpt-4o-mini", 1767225600
	u := openaiwire.Usage{Prompt: 240, Completion: 32}
	up := &upstream{complete: openaiwire.ChatCompletion(id, model, created, answer(), u)}
	for _, c := range openaiwire.ChatChunks(id, model, created, answerPieces, u, true) {
		up.frames = append(up.frames, []byte("data: "+string(c)+"\n\n"))
	}
	up.frames = append(up.frames, []byte("data: [DONE]\n\n"))
	up.bufs.New = func() any { return new(bytes.Buffer) }
	return up
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(openaiwire.Error("not found: "+r.URL.Path, "invalid_request_error", "not_found", nil))
		return
	}
	buf := u.bufs.Get().(*bytes.Buffer)
	defer u.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return
	}
	h := w.Header()
	if !gjson.GetBytes(buf.Bytes(), "stream").Bool() {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", fmt.Sprint(len(u.complete)))
		_, _ = w.Write(u.complete)
		return
	}
	// Like a real provider: headers first, then each chunk flushed as it
	// is produced (here, at once).
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	for _, f := range u.frames {
		if _, err := w.Write(f); err != nil {
			return
		}
		fl.Flush()
	}
}

func serveUpstream(ctx context.Context, addr string, stdout io.Writer) error {
	return serveOn(ctx, addr, newUpstream(), stdout)
}

// floorMaxIdlePerHost keeps the floor from redialling under load; Go's
// default of two idle connections per host would make it an unfair floor.
const floorMaxIdlePerHost = 256

// serveFloor is a bare httputil.ReverseProxy to the upstream: what any Go
// proxy costs on this machine.
func serveFloor(ctx context.Context, addr, upstreamAddr, profileDir string, stdout, stderr io.Writer) error {
	if upstreamAddr == "" {
		return errors.New("-role floor needs -upstream")
	}
	stop, err := startProfile(profileDir, "floor", stderr)
	if err != nil {
		return err
	}
	defer stop()
	target, err := url.Parse("http://" + upstreamAddr)
	if err != nil {
		return fmt.Errorf("upstream address: %w", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * floorMaxIdlePerHost,
			MaxIdleConnsPerHost: floorMaxIdlePerHost,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	// Full duplex keeps the HTTP/1 server from closing the inbound body when
	// the answer's headers go out: the Transport reads that body once more
	// after copying it (to check its length) and, finding it closed, tears
	// down the upstream connection mid-stream (golang/go#40747). A proxy that
	// drops streams is no floor; crisp avoids this by reading the body first.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
	return serveOn(ctx, addr, h, stdout)
}

// serveOn serves h on addr until ctx ends. The first line on stdout is the
// address it listens on, for the driver.
func serveOn(ctx context.Context, addr string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintln(stdout, ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	return nil
}

// serveCrispInproc runs crisp's server package in this process, for
// profiling: crisp itself has no pprof endpoint. The CPU profile covers the
// whole life of the process; the allocation profile is written at the end.
// Its RSS includes this benchmark's code and the profiler, so the driver
// does not judge it.
func serveCrispInproc(ctx context.Context, addr, cfgPath, name, profileDir string, stdout, stderr io.Writer) error {
	// LoadFile, as `crisp serve --config` does: the catalog, policies and
	// seed beside the file are the ones served.
	cfg, err := config.LoadFile(cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	log, closeLog := server.NewBufferedLogger(cfg.Logging, stderr)
	defer closeLog()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	stop, err := startProfile(profileDir, name, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintln(stdout, ln.Addr().String())
	return srv.Serve(ctx, ln)
}

// startProfile starts a CPU profile written to dir/name.cpu.pprof; stop
// ends it and writes the allocations to dir/name.allocs.pprof. With no dir
// it does nothing.
func startProfile(dir, name string, stderr io.Writer) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "CPU profile: %v\n", err)
		}
		writeAllocs(filepath.Join(dir, name+".allocs.pprof"), stderr)
	}, nil
}

func writeAllocs(path string, stderr io.Writer) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "allocation profile: %v\n", err)
	}
}
