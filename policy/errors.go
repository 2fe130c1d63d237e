package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a rules file, at its place.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// maxErrors caps how many problems one load reports, as cel-go does: past a
// few dozen, more lines only bury the first mistake.
const maxErrors = 20

// ErrorList is every problem found in one load, sorted by place.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

type errorSink struct {
	list ErrorList
}

func (s *errorSink) add(pos Pos, format string, args ...any) {
	s.addErr(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (s *errorSink) addErr(e *Error) {
	if len(s.list) < maxErrors {
		s.list = append(s.list, e)
	}
}

func (s *errorSink) full() bool { return len(s.list) >= maxErrors }

// err returns the sorted list, or nil when there is nothing wrong.
func (s *errorSink) err() error {
	if len(s.list) == 0 {
		return nil
	}
	slices.SortStableFunc(s.list, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return s.list
}
