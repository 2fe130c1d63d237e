package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity grades a Problem.
type Severity string

const (
	SeverityError   Severity = "error"   // the catalog is wrong or unsafe
	SeverityWarning Severity = "warning" // the catalog works but a reviewer should look
)

// Problem is one finding, from parsing or from Lint, with its place.
type Problem struct {
	Pos      Pos
	Severity Severity
	// Subject names what the problem is about: `field "account.plan"`,
	// `event "Asked chat"`, `fields[3]` for an entry without a usable
	// name, or "" for the file as a whole.
	Subject string
	Message string
}

// String formats the problem as file:line:col: severity: subject: message,
// the shape compilers use, so editors can jump to it.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Pos.String())
	b.WriteString(": ")
	b.WriteString(string(p.Severity))
	b.WriteString(": ")
	if p.Subject != "" {
		b.WriteString(p.Subject)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// maxErrors caps how many problems one ParseError lists: enough to fix a
// file in one pass, few enough to read.
const maxErrors = 20

// ParseError reports every problem found in a catalog file, sorted by
// place, listing at most the first 20.
type ParseError struct {
	Problems []Problem // the first problems, by line
	Total    int       // how many were found in all
}

// Error lists the problems one per line.
func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	if n := e.Total - len(e.Problems); n > 0 {
		fmt.Fprintf(&b, "\n(and %d more)", n)
	}
	return b.String()
}

// sortProblems orders problems by place, then by text, so output is
// stable whatever order the checks ran in.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Subject, b.Subject),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// newParseError sorts and caps problems; nil when there are none.
func newParseError(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return &ParseError{Problems: ps[:min(len(ps), maxErrors)], Total: len(ps)}
}
