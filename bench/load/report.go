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

// Goals, from the issue.
const (
	goalOverheadRatio = 1.3 // crisp's overhead at most this × the floor's, p50 and p99, at c=1
	goalRPSRatio      = 0.8 // crisp's req/s at least this × the floor's, at c=32
	goalPeakRSSMB     = 60  // crisp's peak RSS under this
	throughputConc    = 32
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
	CPUUsPerReq  float64  `json:"proxy_cpu_us_per_req,omitempty"`
	ReadsPerReq  float64  `json:"proxy_read_syscalls_per_req,omitempty"`
	WritesPerReq float64  `json:"proxy_write_syscalls_per_req,omitempty"`
	ErrorSamples []string `json:"error_samples,omitempty"`
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

// check is one goal and whether it was met.
type check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Pass  bool    `json:"pass"`
	Note  string  `json:"note,omitempty"`
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
}

func (r *report) find(mode string, conc int, name string) (result, bool) {
	for _, x := range r.Results {
		if x.Mode == mode && x.Concurrency == conc && x.Target == name {
			return x, true
		}
	}
	return result{}, false
}

// judge computes the overheads and checks every goal the run measured.
func (r *report) judge() {
	errs := 0
	for _, x := range r.Results {
		errs += x.Errors
		if x.Target != "direct" {
			continue
		}
		for _, p := range []string{"floor", "crisp"} {
			y, ok := r.find(x.Mode, x.Concurrency, p)
			if !ok {
				continue
			}
			oh := overhead{Mode: x.Mode, Concurrency: x.Concurrency, Proxy: p,
				P50Ms: y.P50Ms - x.P50Ms, P99Ms: y.P99Ms - x.P99Ms}
			if x.RPS > 0 {
				oh.RPSOfDirect = y.RPS / x.RPS
			}
			r.Overheads = append(r.Overheads, oh)
		}
		fl, okf := r.find(x.Mode, x.Concurrency, "floor")
		cr, okc := r.find(x.Mode, x.Concurrency, "crisp")
		if !okf || !okc {
			continue
		}
		tag := fmt.Sprintf("%s c=%d", x.Mode, x.Concurrency)
		switch x.Concurrency {
		case 1:
			r.Checks = append(r.Checks,
				ratioAtMost(tag+" overhead p50 crisp/floor", cr.P50Ms-x.P50Ms, fl.P50Ms-x.P50Ms, goalOverheadRatio),
				ratioAtMost(tag+" overhead p99 crisp/floor", cr.P99Ms-x.P99Ms, fl.P99Ms-x.P99Ms, goalOverheadRatio))
		case throughputConc:
			c := check{Name: tag + " req/s crisp/floor", Goal: fmt.Sprintf(">= %.1fx", goalRPSRatio)}
			if fl.RPS > 0 {
				c.Value = cr.RPS / fl.RPS
			}
			c.Pass = c.Value >= goalRPSRatio
			r.Checks = append(r.Checks, c)
		}
	}
	r.Checks = append(r.Checks,
		check{Name: "errors", Value: float64(errs), Goal: "0", Pass: errs == 0},
		check{Name: "crisp peak RSS (MB)", Value: r.CrispPeakRSSMB, Goal: fmt.Sprintf("< %d", goalPeakRSSMB),
			Pass: r.CrispPeakRSSMB > 0 && r.CrispPeakRSSMB < goalPeakRSSMB}, // 0 means unknown
	)
	if r.InProcess {
		last := &r.Checks[len(r.Checks)-1]
		last.Pass, last.Note = true, "not judged: crisp ran in-process with the profiler"
	}
}

// ratioAtMost checks crisp's overhead against the floor's. A floor
// overhead at or below zero is noise (the proxy cannot be faster than
// direct), so the ratio is then meaningless and only a crisp overhead of
// at most zero passes.
func ratioAtMost(name string, crisp, floor, goal float64) check {
	c := check{Name: name, Goal: fmt.Sprintf("<= %.1fx", goal)}
	if floor <= 0 {
		c.Pass = crisp <= 0
		c.Note = fmt.Sprintf("floor overhead %.3f ms is noise; crisp %.3f ms", floor, crisp)
		return c
	}
	c.Value = crisp / floor
	c.Pass = c.Value <= goal
	return c
}

func (r *report) missed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return true
		}
	}
	return false
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\ncrisp load benchmark: %s, %d CPUs, %d-byte chat request, %d interleaved rounds per cell\n",
		r.GoVersion, r.CPUs, r.RequestBytes, r.Rounds)
	fmt.Fprintf(w, "floor = bare httputil.ReverseProxy, Transport MaxIdleConnsPerHost=%d, full duplex (the fair floor); load generator shares the CPUs\n",
		r.FloorMaxIdleConnsPerHost)
	fmt.Fprintf(w, "load average before %s, after %s (other work on the machine skews every figure)\n\n", r.LoadAvgBefore, r.LoadAvgAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\ttarget\treq/s\tp50 ms\tp99 ms\tttfb p50\tttfb p99\trequests\terrors\tcpu µs/req\treads/req\twrites/req\t")
	for _, x := range r.Results {
		ttfb50, ttfb99 := "-", "-"
		if x.Mode == "stream" {
			ttfb50, ttfb99 = fmt.Sprintf("%.3f", x.TTFBP50Ms), fmt.Sprintf("%.3f", x.TTFBP99Ms)
		}
		capped := ""
		if x.Capped {
			capped = " (time cap)"
		}
		cpu, rd, wr := "-", "-", "-"
		if x.CPUUsPerReq > 0 {
			cpu, rd, wr = fmt.Sprintf("%.0f", x.CPUUsPerReq), fmt.Sprintf("%.1f", x.ReadsPerReq), fmt.Sprintf("%.1f", x.WritesPerReq)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.3f\t%.3f\t%s\t%s\t%d%s\t%d\t%s\t%s\t%s\t\n", x.Mode, x.Concurrency, x.Target,
			x.RPS, x.P50Ms, x.P99Ms, ttfb50, ttfb99, x.Requests, capped, x.Errors, cpu, rd, wr)
	}
	tw.Flush()

	fmt.Fprintln(w, "\noverhead over direct:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\tproxy\tp50 +ms\tp99 +ms\treq/s of direct\t")
	for _, o := range r.Overheads {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%+.3f\t%+.3f\t%.2fx\t\n", o.Mode, o.Concurrency, o.Proxy, o.P50Ms, o.P99Ms, o.RPSOfDirect)
	}
	tw.Flush()

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
	for _, x := range r.Results {
		for _, e := range x.ErrorSamples {
			fmt.Fprintf(w, "error (%s c=%d %s): %s\n", x.Mode, x.Concurrency, x.Target, e)
		}
	}
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
