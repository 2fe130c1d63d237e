package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one target in one cell.
type result struct {
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Target      string  `json:"target"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	TTFBP50Ms   float64 `json:"ttfb_p50_ms,omitempty"`
	TTFBP99Ms   float64 `json:"ttfb_p99_ms,omitempty"`
	Capped      bool    `json:"capped,omitempty"`
	// For a proxy, its own process's CPU time and syscalls per request.
	CPUUsPerReq    float64  `json:"proxy_cpu_us_per_req,omitempty"`
	ReadsPerReq    float64  `json:"proxy_read_syscalls_per_req,omitempty"`
	WritesPerReq   float64  `json:"proxy_write_syscalls_per_req,omitempty"`
	SwitchesPerReq float64  `json:"proxy_context_switches_per_req,omitempty"`
	ErrorSamples   []string `json:"error_samples,omitempty"`
}

func summarize(mode string, conc int, name string, r runResult) result {
	res := result{Mode: mode, Concurrency: conc, Target: name, Requests: len(r.samples),
		Errors: r.errors, Seconds: r.elapsed.Seconds(), Capped: r.capped, ErrorSamples: r.errTexts}
	if len(res.ErrorSamples) > keepErrTexts {
		res.ErrorSamples = res.ErrorSamples[:keepErrTexts]
	}
	if r.elapsed > 0 {
		res.RPS = float64(len(r.samples)) / r.elapsed.Seconds()
	}
	if sent := len(r.samples) + r.errors; r.procOK && sent > 0 {
		res.CPUUsPerReq = float64(r.proc.cpu.Microseconds()) / float64(sent)
		res.ReadsPerReq = float64(r.proc.reads) / float64(sent)
		res.WritesPerReq = float64(r.proc.write) / float64(sent)
		res.SwitchesPerReq = float64(r.proc.switches) / float64(sent)
	}
	total := make([]time.Duration, len(r.samples))
	ttfb := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		total[i], ttfb[i] = s.total, s.ttfb
	}
	res.P50Ms, res.P99Ms = quantile(total, 0.50), quantile(total, 0.99)
	if mode == "stream" {
		res.TTFBP50Ms, res.TTFBP99Ms = quantile(ttfb, 0.50), quantile(ttfb, 0.99)
	}
	return res
}

// quantile is the nearest-rank quantile in milliseconds.
func quantile(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	i = min(max(i, 0), len(d)-1)
	return float64(d[i].Microseconds()) / 1000
}

// overhead is what a proxy adds over going direct, in one cell.
type overhead struct {
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Proxy       string  `json:"proxy"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	RPSOfDirect float64 `json:"rps_of_direct"`
}

// report is the whole run.
type report struct {
	GoVersion                string     `json:"go_version"`
	CPUs                     int        `json:"cpus"`
	RequestBytes             int        `json:"request_bytes"`
	FloorMaxIdleConnsPerHost int        `json:"floor_max_idle_conns_per_host"`
	Rounds                   int        `json:"rounds"`
	InProcess                bool       `json:"crisp_in_process,omitempty"`
	Results                  []result   `json:"results"`
	Overheads                []overhead `json:"overheads"`
	Checks                   []check    `json:"checks"`
	CrispPeakRSSMB           float64    `json:"crisp_peak_rss_mb"`
	LoadAvgBefore            string     `json:"loadavg_before,omitempty"`
	LoadAvgAfter             string     `json:"loadavg_after,omitempty"`
	FloorPeakRSSMB           float64    `json:"floor_peak_rss_mb"`
	// Drafts are POST /api/v1/drafts on the full crisp, one per concurrency.
	Drafts []result `json:"drafts,omitempty"`
	// MCP is get_customer_context over streamable HTTP on the full crisp,
	// one per concurrency.
	MCP []result `json:"mcp,omitempty"`
	// PeakRSSMB is every crisp process's peak RSS, by target name.
	PeakRSSMB map[string]float64 `json:"crisp_peak_rss_mb_by_process"`
}

func (r *report) find(mode string, conc int, name string) (result, bool) {
	for _, x := range r.Results {
		if x.Mode == mode && x.Concurrency == conc && x.Target == name {
			return x, true
		}
	}
	return result{}, false
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\ncrisp load benchmark: %s, %d CPUs, %d-byte chat request, %d interleaved rounds per cell\n",
		r.GoVersion, r.CPUs, r.RequestBytes, r.Rounds)
	fmt.Fprintf(w, "floor = bare httputil.ReverseProxy, Transport MaxIdleConnsPerHost=%d, full duplex (the fair floor); load generator shares the CPUs\n",
		r.FloorMaxIdleConnsPerHost)
	fmt.Fprintf(w, "load average before %s, after %s (other work on the machine skews every figure)\n\n", r.LoadAvgBefore, r.LoadAvgAfter)
	if len(r.PeakRSSMB) > 0 {
		fmt.Fprintf(w, "%s = the request names no customer; %s = the same with audit.disabled; %s = it names %s, signed:\n"+
			"identity, policy, context pack, redaction both ways and provider flags all run\n\n", nameCrisp, nameNoAudit, nameFull, exampleUser)
	}
	r.printChat(w)
	var tw *tabwriter.Writer
	if len(r.Drafts) > 0 {
		fmt.Fprintf(w, "\ndrafts: POST %s on %s for %s, key %s (no goal):\n", draftsPath, nameFull, exampleUser, benchKey)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "conc\tdrafts/s\tp50 ms\tp99 ms\tdrafts\terrors\tcpu µs/draft\treads/draft\twrites/draft\tswitches/draft\t")
		for _, x := range r.Drafts {
			fmt.Fprintf(tw, "%d\t%.0f\t%.3f\t%.3f\t%s\t\n", x.Concurrency, x.RPS, x.P50Ms, x.P99Ms, x.tail())
		}
		tw.Flush()
	}
	if len(r.MCP) > 0 {
		fmt.Fprintf(w, "\nmcp: tools/call %s on %s for %s, key %s, one session per worker:\n", mcpTool, nameFull, exampleUser, benchKey)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "conc\tcalls/s\tp50 ms\tp99 ms\tcalls\terrors\tcpu µs/call\treads/call\twrites/call\tswitches/call\t")
		for _, x := range r.MCP {
			fmt.Fprintf(tw, "%d\t%.0f\t%.3f\t%.3f\t%s\t\n", x.Concurrency, x.RPS, x.P50Ms, x.P99Ms, x.tail())
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\ngoals:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "MISS"
		}
		val := fmt.Sprintf("%.1f", c.Value)
		switch {
		case strings.Contains(c.Goal, "x"):
			val = fmt.Sprintf("%.2fx", c.Value)
		case c.Value == float64(int64(c.Value)):
			val = fmt.Sprintf("%.0f", c.Value)
		}
		note := ""
		if c.Note != "" {
			val, note = "-", "  ("+c.Note+")"
		}
		fmt.Fprintf(tw, "  %s\t%s\tgoal %s\t%s%s\n", c.Name, val, c.Goal, verdict, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "  (floor peak RSS %.1f MB, for comparison)\n", r.FloorPeakRSSMB)
	if mb, ok := r.PeakRSSMB[nameNoAudit]; ok {
		why := "a benchmark-only configuration"
		if r.InProcess {
			why = "in-process with the profiler"
		}
		fmt.Fprintf(w, "  (%s peak RSS %.1f MB, not judged: %s)\n", nameNoAudit, mb, why)
	}
	for _, x := range r.all() {
		for _, e := range x.ErrorSamples {
			fmt.Fprintf(w, "error (%s c=%d %s): %s\n", x.Mode, x.Concurrency, x.Target, e)
		}
	}
}

// printChat prints the chat cells and each proxy's overhead over direct,
// when the run had any.
func (r *report) printChat(w io.Writer) {
	if len(r.Results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\ttarget\treq/s\tp50 ms\tp99 ms\tttfb p50\tttfb p99\trequests\terrors\tcpu µs/req\treads/req\twrites/req\tswitches/req\t")
	for _, x := range r.Results {
		ttfb50, ttfb99 := "-", "-"
		if x.Mode == "stream" {
			ttfb50, ttfb99 = fmt.Sprintf("%.3f", x.TTFBP50Ms), fmt.Sprintf("%.3f", x.TTFBP99Ms)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.3f\t%.3f\t%s\t%s\t%s\t\n", x.Mode, x.Concurrency, x.Target,
			x.RPS, x.P50Ms, x.P99Ms, ttfb50, ttfb99, x.tail())
	}
	tw.Flush()

	fmt.Fprintln(w, "\noverhead over direct:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\tproxy\tp50 +ms\tp99 +ms\treq/s of direct\t")
	for _, o := range r.Overheads {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%+.3f\t%+.3f\t%.2fx\t\n", o.Mode, o.Concurrency, o.Proxy, o.P50Ms, o.P99Ms, o.RPSOfDirect)
	}
	tw.Flush()
}

// all is every measured row: chat, drafts and MCP.
func (r *report) all() []result {
	return slices.Concat(r.Results, r.Drafts, r.MCP)
}

// tail is a row's last columns: requests, errors and the proxy's CPU and
// syscalls per request, tab-separated.
func (x result) tail() string {
	capped := ""
	if x.Capped {
		capped = " (time cap)"
	}
	cpu, rd, wr, sw := "-", "-", "-", "-"
	if x.CPUUsPerReq > 0 {
		cpu, rd, wr = fmt.Sprintf("%.0f", x.CPUUsPerReq), fmt.Sprintf("%.1f", x.ReadsPerReq), fmt.Sprintf("%.1f", x.WritesPerReq)
		sw = fmt.Sprintf("%.2f", x.SwitchesPerReq)
	}
	return fmt.Sprintf("%d%s\t%d\t%s\t%s\t%s\t%s", x.Requests, capped, x.Errors, cpu, rd, wr, sw)
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write -json: %w", err)
	}
	return nil
}

// loadAvg is the 1, 5 and 15 minute load averages, or "?" off Linux.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
