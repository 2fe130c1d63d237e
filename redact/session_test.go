package redact

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// TestPlaceholderNumbers checks the numbering past the point where a
// field's placeholders are indexed, the manifest, and that a placeholder
// is restored only as issued.
func TestPlaceholderNumbers(t *testing.T) {
	var values []Value
	for i := range 3 * phLinear {
		values = append(values, Value{Field: "customer.email", Visibility: catalog.Mask, Text: fmt.Sprintf("user%d@example%d.org", i, i)})
	}
	values = append(values,
		Value{Field: "customer.name", Visibility: catalog.Mask, Text: "Dana Berg"},
		Value{Field: "account.secret", Visibility: catalog.Hide, Text: "Project Kestrel"})
	r := mustCompile(t, values, Detectors{})
	s := r.NewSession()
	var in, want strings.Builder
	// Values met in reverse order, each twice: N follows first use.
	for k := 0; k < 2; k++ {
		for i := len(values) - 3; i >= 0; i-- {
			fmt.Fprintf(&in, "%s and Dana Berg, Project Kestrel. ", values[i].Text)
			fmt.Fprintf(&want, "[masked:customer.email#%d] and [masked:customer.name#1], [hidden:account.secret]. ", len(values)-2-i)
		}
	}
	got := s.Text(in.String())
	if got != want.String() {
		t.Fatalf("Text:\n got %q\nwant %q", got, want.String())
	}
	all := func(string) bool { return true }
	// Hidden values are never restored.
	restored := strings.ReplaceAll(in.String(), "Project Kestrel", "[hidden:account.secret]")
	if back := s.Restore(got, all); back != restored {
		t.Fatalf("Restore:\n got %q\nwant %q", back, restored)
	}
	n := 3 * phLinear
	for _, ph := range []string{"[masked:customer.email#01]", fmt.Sprintf("[masked:customer.email#%d]", n+1),
		"[masked:customer.email#0]", "[masked:customer.phone#1]", "[masked:account.secret#1]"} {
		if back := s.Restore(ph, all); back != ph {
			t.Errorf("Restore(%q) = %q, want it unchanged", ph, back)
		}
	}
	if back := s.Restore(fmt.Sprintf("[masked:customer.email#%d]", n), all); back != values[0].Text {
		t.Errorf("last placeholder restored as %q, want %q", back, values[0].Text)
	}
	m := s.Manifest()
	if len(m) != 3 || m["customer.email"] != 2*n || m["customer.name"] != 2*n || m["account.secret"] != 2*n {
		t.Errorf("Manifest = %v", m)
	}
	if m := r.NewSession().Manifest(); m != nil {
		t.Errorf("empty Manifest = %v, want nil", m)
	}
}
