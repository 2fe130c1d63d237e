package proxy

import (
	"context"
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
			if vis == catalog.Show || k == "id" {
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

// newRedaction compiles this request's redactor and opens its session.
func (s *Server) newRedaction(r *Request) error {
	red, err := redact.Compile(redactValues(r), s.opts.Detectors)
	if err != nil {
		return errRedaction(err)
	}
	r.redaction = red.NewSession()
	return nil
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
	r.Header.Set("X-Crisp-Redactions", itoa(n))
}
