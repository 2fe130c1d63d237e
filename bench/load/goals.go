package main

import (
	"fmt"
	"math"
)

// Goals, from the issues.
const (
	goalOverheadRatio = 1.3 // crisp's overhead at most this × the floor's, p50 and p99, at c=1
	goalRPSRatio      = 0.8 // crisp's req/s at least this × the floor's, at c=32
	goalPeakRSSMB     = 60  // each judged crisp's peak RSS under this
	throughputConc    = 32

	// With all of it on (crisp+full): overhead at c=1 at most this × the
	// floor's at p50, and req/s at c=32 at least this × the floor's.
	goalFullOverheadRatio = 1.5
	goalFullRPSRatio      = 0.7

	// What the audit may cost (crisp against crisp-noaudit): this much p50
	// at c=1, and this share of req/s at c=32.
	goalAuditP50Us      = 50
	goalAuditRPSPercent = 10

	// MCP get_customer_context calls/s on the full crisp, at the highest
	// MCP concurrency measured.
	goalMCPCallsPerSec = 2000
)

// check is one goal and whether it was met.
type check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Pass  bool    `json:"pass"`
	Note  string  `json:"note,omitempty"`
}

// judge computes the overheads and checks every goal the run measured.
func (r *report) judge() {
	var plain, full, audit []check
	for _, x := range r.Results {
		if x.Target != "direct" {
			continue
		}
		for _, y := range r.Results {
			if y.Mode != x.Mode || y.Concurrency != x.Concurrency || y.Target == "direct" {
				continue
			}
			oh := overhead{Mode: x.Mode, Concurrency: x.Concurrency, Proxy: y.Target,
				P50Ms: y.P50Ms - x.P50Ms, P99Ms: y.P99Ms - x.P99Ms}
			if x.RPS > 0 {
				oh.RPSOfDirect = y.RPS / x.RPS
			}
			r.Overheads = append(r.Overheads, oh)
		}
		tag := fmt.Sprintf("%s c=%d", x.Mode, x.Concurrency)
		fl, okf := r.find(x.Mode, x.Concurrency, "floor")
		cr, okc := r.find(x.Mode, x.Concurrency, nameCrisp)
		fu, oku := r.find(x.Mode, x.Concurrency, nameFull)
		na, okn := r.find(x.Mode, x.Concurrency, nameNoAudit)
		switch x.Concurrency {
		case 1:
			if okf && okc {
				plain = append(plain,
					ratioAtMost(tag+" overhead p50 crisp/floor", cr.P50Ms-x.P50Ms, fl.P50Ms-x.P50Ms, goalOverheadRatio),
					ratioAtMost(tag+" overhead p99 crisp/floor", cr.P99Ms-x.P99Ms, fl.P99Ms-x.P99Ms, goalOverheadRatio))
			}
			if okf && oku {
				full = append(full, ratioAtMost(tag+" overhead p50 crisp+full/floor", fu.P50Ms-x.P50Ms, fl.P50Ms-x.P50Ms, goalFullOverheadRatio))
			}
			if okc && okn {
				d := math.Round((cr.P50Ms - na.P50Ms) * 1000) // quantiles are whole µs
				audit = append(audit, check{Name: tag + " audit cost p50 µs (crisp − crisp-noaudit)", Value: d,
					Goal: fmt.Sprintf("<= %d", goalAuditP50Us), Pass: d <= goalAuditP50Us})
			}
		case throughputConc:
			if okf && okc {
				plain = append(plain, ratioAtLeast(tag+" req/s crisp/floor", cr.RPS, fl.RPS, goalRPSRatio))
			}
			if okf && oku {
				full = append(full, ratioAtLeast(tag+" req/s crisp+full/floor", fu.RPS, fl.RPS, goalFullRPSRatio))
			}
			if okc && okn {
				c := check{Name: tag + " audit cost % of req/s (1 − crisp/crisp-noaudit)",
					Goal: fmt.Sprintf("<= %d", goalAuditRPSPercent), Note: "crisp-noaudit served nothing"}
				if na.RPS > 0 {
					c.Value, c.Note = 100*(1-cr.RPS/na.RPS), ""
					c.Pass = c.Value <= goalAuditRPSPercent
				}
				audit = append(audit, c)
			}
		}
	}
	r.Checks = append(append(append(r.Checks, plain...), full...), audit...)
	if c, ok := r.mcpCheck(); ok {
		r.Checks = append(r.Checks, c)
	}
	errs := 0
	for _, x := range r.all() {
		errs += x.Errors
	}
	r.Checks = append(r.Checks, check{Name: "errors", Value: float64(errs), Goal: "0", Pass: errs == 0})
	// crisp-noaudit is a benchmark-only configuration: its RSS is shown, not judged.
	for _, name := range []string{nameCrisp, nameFull} {
		mb, ok := r.PeakRSSMB[name]
		if !ok {
			continue
		}
		c := check{Name: name + " peak RSS (MB)", Value: mb, Goal: fmt.Sprintf("< %d", goalPeakRSSMB),
			Pass: mb > 0 && mb < goalPeakRSSMB} // 0 means unknown
		if r.InProcess {
			c.Pass, c.Note = true, "not judged: crisp ran in-process with the profiler"
		}
		r.Checks = append(r.Checks, c)
	}
}

// mcpCheck judges MCP calls/s at the highest concurrency measured: the
// goal is throughput, which one session at a time cannot show.
func (r *report) mcpCheck() (check, bool) {
	if len(r.MCP) == 0 {
		return check{}, false
	}
	top := r.MCP[0]
	for _, x := range r.MCP[1:] {
		if x.Concurrency > top.Concurrency {
			top = x
		}
	}
	return check{Name: fmt.Sprintf("mcp c=%d MCP %s calls/s", top.Concurrency, mcpTool), Value: top.RPS,
		Goal: fmt.Sprintf(">= %d", goalMCPCallsPerSec), Pass: top.RPS >= goalMCPCallsPerSec}, true
}

// ratioAtMost checks a crisp's overhead against the floor's. A floor
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

// ratioAtLeast checks a crisp's req/s against the floor's.
func ratioAtLeast(name string, crisp, floor, goal float64) check {
	c := check{Name: name, Goal: fmt.Sprintf(">= %.1fx", goal)}
	if floor > 0 {
		c.Value = crisp / floor
	}
	c.Pass = c.Value >= goal
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
