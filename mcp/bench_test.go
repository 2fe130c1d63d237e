package mcp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/server/servertest"
)

// BenchmarkGetCustomerContext measures get_customer_context calls over
// streamable HTTP, one MCP session per client goroutine (8 per CPU), and
// reports calls/s, p50 and p99 latency and the CPU per call. The goal is
// 2,000 calls/s. Client and crisp share this process and its CPUs:
// client=http is a bare JSON-RPC client, as a load generator is, so it
// measures crisp; client=sdk adds the Go SDK's client, which costs about
// as much again.
//
//	go test -run '^$' -bench GetCustomerContext -benchtime 5000x ./mcp/
func BenchmarkGetCustomerContext(b *testing.B) {
	crisp, _ := startCrisp(b)
	args := map[string]any{"customer_id": dana, "user_hash": danaHash()}
	b.Run("client=http", func(b *testing.B) {
		body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_customer_context",`+
			`"arguments":{"customer_id":%q,"user_hash":%q}}}`, dana, danaHash()))
		measure(b, func() func() error {
			s := openRaw(b, crisp.URL, servertest.SupportKey)
			return func() error { return s.call(body) }
		})
	})
	b.Run("client=sdk", func(b *testing.B) {
		params := &mcp.CallToolParams{Name: "get_customer_context", Arguments: args}
		measure(b, func() func() error {
			s := connectHTTP(b, crisp.URL, servertest.SupportKey)
			return func() error {
				res, err := s.CallTool(context.Background(), params)
				if err == nil && res.IsError {
					err = fmt.Errorf("tool error: %+v", res.Content)
				}
				return err
			}
		})
	})
}

// measure runs calls from 8 goroutines per CPU, each with its own caller,
// after one warm-up call has filled crisp's caches (key, customer,
// decision, redactor) as a running crisp has them.
func measure(b *testing.B, newCaller func() func() error) {
	const perCPU = 8
	callers := make(chan func() error, perCPU*runtime.GOMAXPROCS(0))
	for range cap(callers) {
		callers <- newCaller()
	}
	warm := <-callers
	if err := warm(); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	callers <- warm
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		call := <-callers
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := call(); err != nil {
				b.Errorf("call: %v", err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// CPU per call holds steadier than wall-clock figures on a shared
	// machine: 2 CPUs over it is the throughput they could give.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/call")
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawSession is a bare streamable HTTP MCP client: one session, JSON
// responses.
type rawSession struct {
	url, key, id string
	client       *http.Client
}

func openRaw(b *testing.B, base, key string) *rawSession {
	s := &rawSession{url: base + "/mcp", key: key, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	b.Cleanup(s.client.CloseIdleConnections)
	resp, err := s.post([]byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",` +
		`"capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	if s.id = resp.Header.Get("Mcp-Session-Id"); s.id == "" {
		b.Fatalf("initialize: %d, no session", resp.StatusCode)
	}
	if _, err := s.post([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		b.Fatal(err)
	}
	return s
}

func (s *rawSession) post(body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, err
}

func (s *rawSession) call(body []byte) error {
	resp, err := s.post(body)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(b, []byte(`account.plan`)) || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("result: %s", b)
	}
	return nil
}
