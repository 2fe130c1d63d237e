package api

import (
	"errors"
	"testing"
)

// FuzzParseTraits: a trait patch either yields keyed, non-null values or a
// 400 that says why; it never panics.
func FuzzParseTraits(f *testing.F) {
	for _, s := range []string{
		`{"seats":7,"plan":"Growth","renewal":{"month":3}}`,
		`[{"key":"seats","value":3,"timestamp":"2020-01-01T00:00:00Z"}]`,
		`[{"value":1}]`, `{"a":null}`, `{}`, `[]`, `null`, `"x"`, `{"":1}`, `[{"key":"a","value":1,"when":2}]`, `{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		writes, err := parseTraits(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
				t.Fatalf("refusal %v is not a 400 with a message", err)
			}
			return
		}
		if len(writes) == 0 {
			t.Fatal("no error and no traits")
		}
		for _, w := range writes {
			if w.Key == "" || w.Value == nil {
				t.Fatalf("write %+v has no key or a null value", w)
			}
		}
	})
}
