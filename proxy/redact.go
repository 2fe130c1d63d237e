package proxy

import (
	"context"
	"crypto/sha256"
	"sort"
	"strconv"
	"strings"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/redact"
)

func errRedaction(cause error) *Error {
	return &Error{Status: 500, Type: "api_error", Code: "redaction_failed",
		Message: "Crisp could not check this request for hidden values, so nothing was sent to a provider.", Cause: cause}
}

// redactValues lists the values of this customer and account that must not
// reach the provider: every field the decision hides or masks, and every
// trait the catalog does not name (hidden until someone catalogs it).
func redactValues(r *Request) []redact.Value {
	sub := r.Subject
	if sub == nil {
		return nil
	}
	var out []redact.Value
	add := func(prefix string, fields map[string]any) {
		for k, v := range fields {
			name := prefix + k
			vis, known := r.Decision.Fields.Get(name)
			if !known {
				vis = catalog.Hide
			}
			if vis == catalog.Show {
				continue
			}
			text := identity.FormatValue(v)
			if text == "" {
				continue
			}
			out = append(out, redact.Value{Field: name, Text: text, Visibility: vis})
			if vis == catalog.Hide {
				// A hidden note is often quoted in part: each sentence of
				// it is a value of its own.
				for _, part := range sentences(text) {
					out = append(out, redact.Value{Field: name, Text: part, Visibility: vis})
				}
			}
		}
	}
	add("customer.", sub.CustomerFields)
	add("account.", sub.AccountFields)
	return out
}

// redactRequest compiles this request's redactor and runs it over every
// string the caller sent: messages and content parts, tool results,
// Responses input, embeddings input. Hidden values and detector matches
// become [hidden:…]; masked values, placeholders. An error stops the
// request: nothing unchecked goes out.
func (s *Server) redactRequest(_ context.Context, r *Request) error {
	if err := s.newRedaction(r); err != nil {
		return err
	}
	// Identifiers were pseudonymized by the flags stage; the model name and
	// switches are not prose.
	out, err := r.redaction.JSON(r.Out, "model", "user", "safety_identifier", "metadata", "stream", "store", "provider")
	if err != nil {
		return errRedaction(err)
	}
	r.Out = out
	r.manifest()
	return nil
}

// newRedaction opens this request's redaction session, on a redactor
// compiled once for the same values: compiling costs ~0.1 ms for a
// customer's twenty values, and the same customer comes back.
//
// The values follow from the subject and the decision's field visibility
// alone, so when both have a version the redactor is found by those,
// without listing and hashing the values on every request.
func (s *Server) newRedaction(r *Request) error {
	var quick string
	if r.Subject != nil && r.Subject.Version() != "" {
		quick = "v\x00" + r.Subject.Version() + "\x00" + r.Decision.Fields.Key()
		r.subjectKey = quick
		if red, ok := s.redactors.Get(quick); ok {
			r.redaction = red.NewSession()
			return nil
		}
	}
	values := redactValues(r)
	if len(values) == 0 {
		if s.bareErr != nil {
			return errRedaction(s.bareErr)
		}
		if quick != "" {
			s.redactors.Set(quick, s.bare, 1)
		}
		r.redaction = s.bare.NewSession()
		return nil
	}
	key := redactorKey(values)
	red, ok := s.redactors.Get(key)
	if !ok {
		var err error
		if red, err = redact.Compile(values, s.opts.Detectors); err != nil {
			return errRedaction(err)
		}
		s.redactors.Set(key, red, 1)
	}
	if quick != "" {
		s.redactors.Set(quick, red, 1)
	}
	r.redaction = red.NewSession()
	return nil
}

// redactorKey identifies a set of values: a hash, so the key never holds
// a value itself.
func redactorKey(values []redact.Value) string {
	sort.Slice(values, func(i, j int) bool {
		if values[i].Field != values[j].Field {
			return values[i].Field < values[j].Field
		}
		return values[i].Text < values[j].Text
	})
	h := sha256.New()
	for _, v := range values {
		h.Write([]byte(v.Field))
		h.Write([]byte{0, byte(v.Visibility), 0})
		h.Write([]byte(v.Text))
		h.Write([]byte{0xff})
	}
	return string(h.Sum(nil))
}

// minSentence is the shortest part of a hidden text matched on its own:
// shorter parts are too likely to occur in ordinary text.
const minSentence = 24

// sentences splits a long text at sentence ends (. ; ! ? and line breaks)
// into the parts long enough to match alone.
func sentences(text string) []string {
	if len(text) < 2*minSentence {
		return nil
	}
	var out []string
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(".;!?\n", r) }) {
		if part = strings.TrimSpace(part); len(part) >= minSentence && part != text {
			out = append(out, part)
		}
	}
	return out
}

// mayReveal says whether the member may see a masked field's value in the
// answer: the catalog shows it for the support use. Hidden values never
// come back.
func (s *Server) mayReveal(field string) bool {
	return s.opts.Catalog != nil && s.opts.Catalog.Default(field, catalog.UseSupport) == catalog.Show
}

// manifest records what was redacted, for the audit and X-Crisp-Redactions.
func (r *Request) manifest() {
	if r.redaction == nil {
		return
	}
	r.Redactions = r.redaction.Manifest()
	n := 0
	for _, c := range r.Redactions {
		n += c
	}
	r.Header.Set("X-Crisp-Redactions", strconv.Itoa(n))
}
