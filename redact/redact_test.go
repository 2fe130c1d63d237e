package redact

import (
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// The example workspace's values (DESIGN.md, "The example workspace").
const (
	revenue = "48250"
	phone   = "+1 415 555 0199"
	email   = "dana@acme.example"
	notes   = "Renewal is blocked until legal signs the new DPA; champion is the CFO."
)

func acmeValues() []Value {
	return []Value{
		{Field: "account.privateRevenue", Text: revenue, Visibility: catalog.Hide},
		{Field: "customer.phone", Text: phone, Visibility: catalog.Hide},
		{Field: "customer.email", Text: email, Visibility: catalog.Mask},
		{Field: "account.enterpriseNotes", Text: notes, Visibility: catalog.Hide},
		{Field: "account.paymentRisk", Text: "high", Visibility: catalog.Hide},
		{Field: "account.plan", Text: "Growth trial", Visibility: catalog.Show},
	}
}

func mustCompile(t testing.TB, values []Value, det Detectors) *Redactor {
	t.Helper()
	r, err := Compile(values, det)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	hRev   = "[hidden:account.privateRevenue]"
	hPhone = "[hidden:customer.phone]"
	mEmail = "[masked:customer.email#1]"
	hNotes = "[hidden:account.enterpriseNotes]"
)

func TestValueVariants(t *testing.T) {
	r := mustCompile(t, acmeValues(), Detectors{})
	tests := []struct {
		name, in, want string
	}{
		{"number plain", "ARR is 48250 a year", "ARR is " + hRev + " a year"},
		{"number comma grouping", "ARR is 48,250.", "ARR is " + hRev + "."},
		{"number dot grouping", "ARR ist 48.250 EUR", "ARR ist " + hRev + " EUR"},
		{"number space grouping", "ARR 48 250", "ARR " + hRev},
		{"number thin space grouping", "ARR 48\u2009250", "ARR " + hRev},
		{"number no-break space grouping", "ARR 48\u00a0250", "ARR " + hRev},
		{"number apostrophe grouping", "ARR 48'250", "ARR " + hRev},
		{"number currency and cents", "ARR $48,250.00/yr", "ARR " + hRev + "/yr"},
		{"number euro decimals", "€48.250,00", hRev},
		{"number code", "USD 48,250", "USD " + hRev},
		{"number sign", "delta -48,250 and +48250 and \u221248250", "delta " + hRev + " and " + hRev + " and " + hRev},
		{"number sign and currency", "refund -$48,250", "refund " + hRev},
		{"compact exact", "about 48.25k", "about " + hRev},
		{"compact exact upper with space", "about $48.25 K ARR", "about " + hRev + " ARR"},
		{"compact rounded to 3 digits", "roughly 48.3k", "roughly " + hRev},
		{"compact thousand word", "48.25 thousand", hRev},
		{"near miss other number", "148250 and 482500 and 4825", "148250 and 482500 and 4825"},
		{"near miss bigger grouped", "48,250,000 users", "48,250,000 users"},
		{"near miss decimals", "48,250.5 and 48250.01", "48,250.5 and 48250.01"},
		{"near miss rounded plain", "48,300 and 48k and 48.2k", "48,300 and 48k and 48.2k"},
		{"near miss glued to word", "order A48250 and v48250", "order A48250 and v48250"},
		{"near miss continuation", "1,048,250 and 2024-48250", "1,048,250 and 2024-48250"},
		{"phone as given", "call +1 415 555 0199 now", "call " + hPhone + " now"},
		{"phone parens", "call (415) 555-0199.", "call " + hPhone + "."},
		{"phone digits only", "call 4155550199", "call " + hPhone},
		{"phone dots", "call 415.555.0199", "call " + hPhone},
		{"phone with 1", "call 1-415-555-0199", "call " + hPhone},
		{"phone e164", "tel:+14155550199", "tel:" + hPhone},
		{"near miss phone", "call 415 555 0198 or 41555501990", "call 415 555 0198 or 41555501990"},
		{"email exact", "write dana@acme.example", "write " + mEmail},
		{"email case", "write Dana@ACME.example!", "write " + mEmail + "!"},
		{"email in mailto", "<mailto:dana@acme.example>", "<mailto:" + mEmail + ">"},
		{"near miss email", "write adana@acme.example", "write adana@acme.example"},
		{"text case and spaces", "note: renewal IS blocked\nuntil legal  signs the new DPA; champion is the CFO.", "note: " + hNotes},
		{"text zero width", "Renewal is blocked until le\u200bgal signs the new DPA; champion is the CFO.", hNotes},
		{"text partial not matched", "Renewal is blocked until legal signs", "Renewal is blocked until legal signs"},
		{"common word not matched", "the payment risk is high, high priority", "the payment risk is high, high priority"},
		{"shown value untouched", "on the Growth trial plan", "on the Growth trial plan"},
		{"two values", "48250 for dana@acme.example", hRev + " for " + mEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.NewSession().Text(tc.in); got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDetectors(t *testing.T) {
	r := mustCompile(t, nil, DefaultDetectors())
	tests := []struct {
		name, in, want string
	}{
		{"email", "from bob.smith+tag@mail.example.co.uk.", "from [hidden:email]."},
		{"email not a handle", "ping @maya or user@localhost", "ping @maya or user@localhost"},
		{"phone nanp", "call 212-555-0147 today", "call [hidden:phone] today"},
		{"phone parens", "call (212) 555-0147", "call [hidden:phone]"},
		{"phone international", "call +44 20 7946 0958", "call [hidden:phone]"},
		{"phone not bare digits", "ticket 2125550147", "ticket 2125550147"},
		{"phone not a date", "on 2024-05-01 at 10:30", "on 2024-05-01 at 10:30"},
		{"card visa grouped", "card 4111 1111 1111 1111 exp 12/29", "card [hidden:card] exp 12/29"},
		{"card dashes", "card 5555-5555-5555-4444", "card [hidden:card]"},
		{"card plain", "card 378282246310005", "card [hidden:card]"},
		{"card amex groups", "card 3782 822463 10005", "card [hidden:card]"},
		{"card luhn invalid", "card 4111 1111 1111 1112", "card 4111 1111 1111 1112"},
		{"card luhn invalid plain", "order 4111111111111112", "order 4111111111111112"},
		{"card not an issuer", "id 1234567812345670", "id 1234567812345670"},
		{"iban grouped", "IBAN DE89 3704 0044 0532 0130 00.", "IBAN [hidden:iban]."},
		{"iban plain", "to GB82WEST12345698765432 please", "to [hidden:iban] please"},
		{"iban bad checksum", "to GB82WEST12345698765433 please", "to GB82WEST12345698765433 please"},
		{"iban unknown country", "to ZZ82WEST12345698765432 please", "to ZZ82WEST12345698765432 please"},
		{"ssn", "ssn 123-45-6789.", "ssn [hidden:ssn]."},
		{"ssn invalid area", "ref 666-45-6789 and 900-12-3456", "ref 666-45-6789 and 900-12-3456"},
		{"api key openai", "key sk-proj-Q3b9XkT2mN8vR4wZ7pL1sY6aJ0cF5hD2gE9uK", "key [hidden:api_key]"},
		{"api key github", "token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "token [hidden:api_key]"},
		{"api key aws", "AKIAIOSFODNN7EXAMPLE is the id", "[hidden:api_key] is the id"},
		{"api key random", "secret=Zx81KqP0vT3nWm7YbR2cLd9Hs4FgJ6aE", "[hidden:api_key]"},
		{"api key hex", "token 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "token [hidden:api_key]"},
		{"jwt", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "Bearer [hidden:api_key]"},
		{"not a key placeholder", "use sk-your-api-key-goes-here-please", "use sk-your-api-key-goes-here-please"},
		{"not a key uuid", "workspace 550e8400-e29b-41d4-a716-446655440000", "workspace 550e8400-e29b-41d4-a716-446655440000"},
		{"not a key camel case", "ThisIsSomeVeryLongClassNameForTesting", "ThisIsSomeVeryLongClassNameForTesting"},
		{"not a key path", "see /usr/local/lib/python3.11/site-packages/", "see /usr/local/lib/python3.11/site-packages/"},
		{"ordinary numbers", "5 seats, $49/month, order #10423, v2.3.1, 3 of 12", "5 seats, $49/month, order #10423, v2.3.1, 3 of 12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.NewSession().Text(tc.in); got != tc.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDetectorsOff(t *testing.T) {
	in := "bob@example.com 4111 1111 1111 1111 123-45-6789 (212) 555-0147 DE89 3704 0044 0532 0130 00 AKIAIOSFODNN7EXAMPLE"
	if got := mustCompile(t, nil, Detectors{}).NewSession().Text(in); got != in {
		t.Errorf("with no detectors got %q", got)
	}
}

func TestPlaceholders(t *testing.T) {
	values := append(acmeValues(), Value{Field: "customer.email", Text: "dana.b@acme.example", Visibility: catalog.Mask})
	s := mustCompile(t, values, DefaultDetectors()).NewSession()
	got := s.Text("dana@acme.example, dana.b@acme.example, DANA@acme.example")
	want := "[masked:customer.email#1], [masked:customer.email#2], [masked:customer.email#1]"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	reveal := func(f string) bool { return f == "customer.email" }
	answer := "Hi! I wrote to [masked:customer.email#2] and [masked:customer.email#9] about " + hRev + " [masked:customer.email"
	tests := []struct {
		name   string
		reveal func(string) bool
		want   string
	}{
		{"revealed", reveal, "Hi! I wrote to dana.b@acme.example and [masked:customer.email#9] about " + hRev + " [masked:customer.email"},
		{"not revealed", func(string) bool { return false }, answer},
		{"nil reveals none", nil, answer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Restore(answer, tc.reveal); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
	if m := s.Manifest(); m["customer.email"] != 3 || len(m) != 1 {
		t.Errorf("manifest %v", m)
	}
}

func TestHiddenNeverRestored(t *testing.T) {
	values := []Value{
		{Field: "account.billingEmail", Text: "48250@acme.example", Visibility: catalog.Mask},
		{Field: "account.privateRevenue", Text: revenue, Visibility: catalog.Hide},
		{Field: "customer.email", Text: email, Visibility: catalog.Mask},
		{Field: "account.ownerEmail", Text: email, Visibility: catalog.Hide},
	}
	r := mustCompile(t, values, Detectors{})
	s := r.NewSession()
	got := s.Text("a 48250@acme.example b dana@acme.example")
	if strings.Contains(got, "masked") || strings.Contains(got, "48250") || strings.Contains(got, "dana") {
		t.Fatalf("masked value holding a hidden one, or equal to one, must be hidden: %q", got)
	}
	if back := s.Restore(got, func(string) bool { return true }); back != got {
		t.Errorf("restored %q", back)
	}
	if n := r.Notes(); len(n) != 2 || n[0].Field != "account.billingEmail" || n[1].Field != "customer.email" {
		t.Errorf("notes %v", r.Notes())
	}
}

func TestManifest(t *testing.T) {
	s := mustCompile(t, acmeValues(), DefaultDetectors()).NewSession()
	s.Text("48250 and 48,250 for dana@acme.example, cc bob@example.com and amy@example.org")
	want := map[string]int{"account.privateRevenue": 2, "customer.email": 1, "detector:email": 2}
	got := s.Manifest()
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %d want %d", k, got[k], v)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name    string
		values  []Value
		wantErr string
		notes   int
	}{
		{"example workspace", acmeValues(), "", 1},
		{"no field", []Value{{Text: "x", Visibility: catalog.Hide}}, "no field name", 0},
		{"bad visibility", []Value{{Field: "a.b", Text: "xyz", Visibility: catalog.Visibility(9)}}, "unknown visibility", 0},
		{"too long", []Value{{Field: "a.b", Text: strings.Repeat("x", maxValueLen+1), Visibility: catalog.Hide}}, "more than", 0},
		{"short number", []Value{{Field: "account.internalScore", Text: "72", Visibility: catalog.Hide}}, "", 1},
		{"short text", []Value{{Field: "customer.initials", Text: "DB", Visibility: catalog.Hide}}, "", 1},
		{"empty", []Value{{Field: "customer.nickname", Text: "  ", Visibility: catalog.Hide}}, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compile(tc.values, DefaultDetectors())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Notes()) != tc.notes {
				t.Errorf("notes %v", r.Notes())
			}
			for _, n := range r.Notes() {
				for _, v := range tc.values {
					if strings.TrimSpace(v.Text) != "" && strings.Contains(n.Reason, v.Text) {
						t.Errorf("note %q holds the value", n.Reason)
					}
				}
			}
		})
	}
}

func TestParseDetectors(t *testing.T) {
	tests := []struct {
		names   []string
		want    Detectors
		wantErr bool
	}{
		{nil, Detectors{}, false},
		{[]string{"all"}, DefaultDetectors(), false},
		{[]string{"email", " API_KEY "}, Detectors{Email: true, APIKey: true}, false},
		{[]string{"email", "passport"}, Detectors{}, true},
	}
	for _, tc := range tests {
		got, err := ParseDetectors(tc.names...)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseDetectors(%q) = %+v, %v", tc.names, got, err)
		}
	}
	if got := strings.Join(DefaultDetectors().Names(), ","); got != "email,phone,card,iban,api_key,ssn" {
		t.Errorf("Names %s", got)
	}
}

func TestWholeWords(t *testing.T) {
	values := []Value{
		{Field: "customer.name", Text: "Dana Berg", Visibility: catalog.Mask},
		{Field: "account.codename", Text: "Bluebird", Visibility: catalog.Hide},
		{Field: "account.id", Text: "acc_acme", Visibility: catalog.Hide},
	}
	s := mustCompile(t, values, Detectors{}).NewSession()
	tests := []struct{ in, want string }{
		{"Hi Dana Berg,", "Hi [masked:customer.name#1],"},
		{"Hi Dana Bergman", "Hi Dana Bergman"},
		{"project BLUEBIRD.", "project [hidden:account.codename]."},
		{"bluebirds", "bluebirds"},
		{"id=acc_acme;", "id=[hidden:account.id];"},
		{"acc_acme_2", "acc_acme_2"},
	}
	for _, tc := range tests {
		if got := s.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q want %q", tc.in, got, tc.want)
		}
	}
}

func TestOverlapKeepsBothRedacted(t *testing.T) {
	// A hidden value that ends inside a key must not let the rest of the
	// key through.
	values := []Value{{Field: "account.note", Text: "rotate key sk-proj-Q3b9Xk", Visibility: catalog.Hide}}
	s := mustCompile(t, values, DefaultDetectors()).NewSession()
	got := s.Text("rotate key sk-proj-Q3b9XkT2mN8vR4wZ7pL1sY6aJ0cF5hD2gE9uK now")
	if strings.Contains(got, "T2mN8") {
		t.Fatalf("key tail leaked: %q", got)
	}
}
