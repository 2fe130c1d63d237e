package policy

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RunTests runs the policy test files (*_test.yaml) beside the rules in dir
// against the rules there, the way `opa test` does. The error is for what
// stops the run (rules that do not compile, a malformed test file); failing
// cases are in the Report.
//
// A test file:
//
//	now: 2025-06-06T12:00:00Z            # optional; the decisions' clock
//	users:                               # named inputs, reused by cases
//	  maya: {id: mem_maya, email: maya@acme.example, role: support, teams: [support], kind: member}
//	customers:                           # id, and every other key a trait
//	  dana: {id: usr_2481, email: dana@acme.example, role: Billing owner}
//	accounts:
//	  acme: {id: acc_acme, plan: Growth trial, privateRevenue: 48250}
//	cases:
//	  - name: support member with a signed identity may draft
//	    user: maya                       # a name above, or inline {role: …}
//	    customer: dana
//	    account: acme
//	    action: ai.draft
//	    signed_identity: true
//	    identity_method: hmac            # optional
//	    request: {model: gpt-4o, provider: openai}            # optional
//	    journey: [{name: Visited pricing, ago: 2d}]            # or at: RFC 3339
//	    with_rules: |                    # optional: extra statements, this case only
//	      show account.privateRevenue for ai.draft
//	    expect:
//	      decision: allow                # allow | deny
//	      rule: support-draft            # optional
//	      fields: {account.privateRevenue: hidden, customer.email: masked}
//	      message_contains: support-draft                     # optional
func RunTests(dir string, cat Catalog, opts ...Option) (Report, error) {
	return RunTestsFS(os.DirFS(dir), ".", cat, append([]Option{withDisplayDir(filepath.Base(dir))}, opts...)...)
}

// RunTestsFS is RunTests on a directory within fsys.
func RunTestsFS(fsys fs.FS, dir string, cat Catalog, opts ...Option) (Report, error) {
	display := collect(opts).display
	if display == "" {
		display = path.Base(dir)
	}
	srcs, err := ReadSources(fsys, dir, display)
	if err != nil {
		return Report{}, err
	}
	base, err := Compile(srcs, cat, opts...)
	if err != nil {
		return Report{}, err
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*_test.yaml"))
	if err != nil {
		return Report{}, fmt.Errorf("policy: list tests in %s: %w", display, err)
	}
	if len(names) == 0 {
		return Report{}, fmt.Errorf("policy: no *_test.yaml files in %s", display)
	}
	slices.Sort(names)
	var rep Report
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return Report{}, fmt.Errorf("policy: read %s: %w", path.Join(display, path.Base(n)), err)
		}
		file := path.Join(display, path.Base(n))
		tf, err := parseTestFile(file, data)
		if err != nil {
			return Report{}, err
		}
		for i, tc := range tf.cases {
			rep.Cases = append(rep.Cases, runCase(base, srcs, cat, opts, file, i, tc))
		}
	}
	return rep, nil
}

func runCase(base *Engine, srcs []Source, cat Catalog, opts []Option, file string, i int, tc testCase) CaseResult {
	res := CaseResult{File: file, Name: tc.name}
	e := base
	if tc.withRules != "" {
		extra := Source{Name: file + "#" + strconv.Itoa(i+1), Text: tc.withRules}
		var err error
		if e, err = Compile(append(slices.Clone(srcs), extra), cat, opts...); err != nil {
			res.Problems = append(res.Problems, "with_rules: "+err.Error())
			return res
		}
	}
	start := time.Now()
	d := e.Decide(tc.input)
	res.Duration = time.Since(start)
	res.Decision = d
	res.Problems = tc.expect.check(d)
	res.Passed = len(res.Problems) == 0
	return res
}

func (x expectation) check(d Decision) []string {
	var out []string
	got := d.Verdict() + " by " + quote(d.Rule)
	if d.Location != "" {
		got += " (" + d.Location + ")"
	}
	if x.decision != d.Verdict() {
		out = append(out, fmt.Sprintf("decision: want %s, got %s", x.decision, got))
		if m := d.Message(); m != "" {
			out = append(out, "  "+m)
		}
	}
	if x.rule != "" && x.rule != d.Rule {
		out = append(out, fmt.Sprintf("rule: want %q, got %s", x.rule, got))
	}
	for _, f := range x.fieldOrder {
		want := x.fields[f]
		v, ok := d.Fields.Get(f)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("field %s: not in the catalog", f))
		case v != want:
			out = append(out, fmt.Sprintf("field %s: want %s, got %s", f, want, v))
		}
	}
	if x.messageContains != "" && !strings.Contains(d.Message(), x.messageContains) {
		out = append(out, fmt.Sprintf("message: want it to contain %q, got %q", x.messageContains, d.Message()))
	}
	return out
}

// CaseResult is the outcome of one test case.
type CaseResult struct {
	File     string // "policies/acme_test.yaml"
	Name     string
	Passed   bool
	Problems []string // why it failed
	Decision Decision
	Duration time.Duration
}

// Report is the outcome of a test run.
type Report struct {
	Cases []CaseResult
}

// Counts returns how many cases passed and failed.
func (r Report) Counts() (passed, failed int) {
	for _, c := range r.Cases {
		if c.Passed {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// Passed reports whether there were cases and all of them passed; a
// command should exit non-zero otherwise.
func (r Report) Passed() bool {
	_, failed := r.Counts()
	return len(r.Cases) > 0 && failed == 0
}

// Write prints the report as `opa test` does: failures with their reasons
// (every case when verbose), then the counts.
func (r Report) Write(w io.Writer, verbose bool) error {
	var b strings.Builder
	file := ""
	for _, c := range r.Cases {
		if c.Passed && !verbose {
			continue
		}
		if c.File != file {
			file = c.File
			fmt.Fprintf(&b, "%s:\n", file)
		}
		verdict := "PASS"
		if !c.Passed {
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "  %s: %s\n", c.Name, verdict)
		for _, p := range c.Problems {
			fmt.Fprintf(&b, "    %s\n", p)
		}
	}
	passed, failed := r.Counts()
	if b.Len() > 0 {
		b.WriteString(strings.Repeat("-", 80) + "\n")
	}
	total := passed + failed
	if passed > 0 || total == 0 {
		fmt.Fprintf(&b, "PASS: %d/%d\n", passed, total)
	}
	if failed > 0 {
		fmt.Fprintf(&b, "FAIL: %d/%d\n", failed, total)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
