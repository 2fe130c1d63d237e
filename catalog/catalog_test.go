package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const acmePath = "../configs/catalog.yaml"

func loadAcme(t testing.TB) *Catalog {
	t.Helper()
	c, err := Load(acmePath)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustParse(t testing.TB, src string) *Catalog {
	t.Helper()
	c, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAcmeLintsClean(t *testing.T) {
	if ps := Lint(loadAcme(t)); len(ps) != 0 {
		for _, p := range ps {
			t.Error(p)
		}
	}
}

// TestAcmeDefaults pins the example workspace's visibilities that
// DESIGN.md names, and the values the seed data uses.
func TestAcmeDefaults(t *testing.T) {
	c := loadAcme(t)
	for _, tc := range []struct {
		field, use string
		want       Visibility
	}{
		{"account.privateRevenue", UseAI, Hide},
		{"account.privateRevenue", UseSupport, Hide},
		{"account.paymentRisk", UseAI, Hide},
		{"account.enterpriseNotes", UseAI, Hide},
		{"account.internalScore", UseAI, Hide},
		{"customer.phone", UseAI, Hide},
		{"customer.email", UseAI, Mask},
		{"customer.email", "ai.draft", Mask},
		{"customer.email", UseSupport, Show},
		{"account.plan", UseAI, Show},
		{"account.trialDay", UseAI, Show},
		{"account.lifecycle", UseAI, Show},
		{"account.checkoutRisk", UseAI, Show},
		{"customer.role", UseAI, Show},
		{"account.plan", "nonsense", Hide},
		{"account.colour", UseSupport, Hide},
	} {
		t.Run(tc.field+"/"+tc.use, func(t *testing.T) {
			if got := c.Default(tc.field, tc.use); got != tc.want {
				t.Errorf("Default = %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ field, value string }{
		{"account.plan", "Growth trial"},
		{"account.lifecycle", "Activation risk"},
		{"customer.role", "Billing owner"},
		{"customer.lifecycle", "Activation risk"},
	} {
		if f, ok := c.Field(tc.field); !ok || !slices.Contains(f.Values, tc.value) {
			t.Errorf("%s does not allow %q: %+v", tc.field, tc.value, f)
		}
	}
	for _, name := range []string{"Visited pricing", "Read seat limits", "Opened billing", "Asked chat"} {
		if e, ok := c.Event(name); !ok || e.Uses.AI != Show {
			t.Errorf("event %q: %+v, want shown for ai", name, e)
		}
	}
	if f, _ := c.Field("account.privateRevenue"); f.Classification != Secret {
		t.Errorf("account.privateRevenue is %s, want secret", f.Classification)
	}
}

func TestFieldsSortedAndCopied(t *testing.T) {
	c := loadAcme(t)
	fs := c.Fields()
	if !slices.IsSortedFunc(fs, func(a, b Field) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Fields not sorted by name")
	}
	if len(fs) < 18 || len(c.Events()) != 4 {
		t.Errorf("got %d fields, %d events", len(fs), len(c.Events()))
	}
	f, _ := c.Field("account.plan")
	f.Values[0] = "changed"
	fs[0].Name = "changed"
	if g, _ := c.Field("account.plan"); g.Values[0] == "changed" || c.Fields()[0].Name == "changed" {
		t.Error("callers can modify the catalog")
	}
	if f.Pos.Line == 0 || f.Pos.File != acmePath {
		t.Errorf("Pos = %v", f.Pos)
	}
}

func TestResolveUncataloged(t *testing.T) {
	c := loadAcme(t)
	for _, cat := range []*Catalog{c, nil} {
		f := cat.Resolve("account.shoeSize")
		if !f.Uncataloged || f.Uses != (Visibilities{}) || f.Name != "account.shoeSize" {
			t.Errorf("Resolve = %+v, want uncataloged and hidden everywhere", f)
		}
		for _, use := range AllUses() {
			if v := cat.Default("account.shoeSize", use); v != Hide {
				t.Errorf("Default(%s) = %v", use, v)
			}
		}
		if e := cat.ResolveEvent("Downloaded invoice"); !e.Uncataloged || e.Uses.AI != Hide {
			t.Errorf("ResolveEvent = %+v", e)
		}
	}
	if f := c.Resolve("account.plan"); f.Uncataloged || f.Uses.AI != Show {
		t.Errorf("Resolve(account.plan) = %+v", f)
	}
}

func TestVersion(t *testing.T) {
	base := `fields:
  - name: account.plan
    type: string
    source: billing
    classification: internal
    uses: {default: show}
  - name: account.seats
    type: number
    source: billing
    classification: internal
    uses: {default: show}
`
	reordered := `# comments and order do not matter
fields:
  - {name: account.seats, type: number, source: billing, classification: internal, uses: {support: show, ai: show, reporting: show, automation: show}}
  - {name: account.plan, type: string, source: billing, classification: internal, uses: {default: show}}
`
	widened := strings.Replace(base, "uses: {default: show}\n  - name: account.seats", "uses: {default: show, ai: mask}\n  - name: account.seats", 1)
	v := mustParse(t, base).Version()
	if len(v) != 64 || strings.Trim(v, "0123456789abcdef") != "" {
		t.Fatalf("Version = %q, want sha256 hex", v)
	}
	if got := mustParse(t, reordered).Version(); got != v {
		t.Errorf("layout changed the version")
	}
	if got := mustParse(t, widened).Version(); got == v {
		t.Errorf("a visibility change kept the version")
	}
	if (*Catalog)(nil).Version() == v {
		t.Errorf("nil catalog shares a version")
	}
}

func TestSuggest(t *testing.T) {
	c := loadAcme(t)
	for _, tc := range []struct{ in, want string }{
		{"account.privateRevenu", "account.privateRevenue"},
		{"account.privaterevenue", "account.privateRevenue"},
		{"account.palns", "account.plan"},
		{"acount.seats", "account.seats"},
		{"customer.emial", "customer.email"},
		{"customer.email", ""}, // exact: nothing to suggest
		{"account.shoeSize", ""},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := c.Suggest(tc.in); got != tc.want {
				t.Errorf("Suggest = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVisibility(t *testing.T) {
	for _, tc := range []struct {
		verb, word string
		v          Visibility
	}{
		{"hide", "hidden", Hide},
		{"mask", "masked", Mask},
		{"show", "shown", Show},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			if got, err := ParseVisibility(tc.verb); err != nil || got != tc.v {
				t.Errorf("ParseVisibility = %v, %v", got, err)
			}
			if tc.v.String() != tc.word || tc.v.Verb() != tc.verb {
				t.Errorf("String/Verb = %s/%s", tc.v, tc.v.Verb())
			}
			for _, s := range []string{tc.verb, tc.word} {
				var v Visibility
				if err := v.UnmarshalText([]byte(s)); err != nil || v != tc.v {
					t.Errorf("UnmarshalText(%s) = %v, %v", s, v, err)
				}
			}
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != `"`+tc.word+`"` {
				t.Errorf("json = %s, %v", b, err)
			}
		})
	}
	if _, err := ParseVisibility("shown"); err == nil {
		t.Error("the catalog spelling is show|mask|hide only")
	}
	if Visibility(0) != Hide {
		t.Error("zero Visibility must be Hide")
	}
	if !(Show > Mask && Mask > Hide) {
		t.Error("visibilities must order closed to open")
	}
	if _, err := Visibility(9).MarshalText(); err == nil {
		t.Error("invalid visibility marshalled")
	}
}

func TestUseOf(t *testing.T) {
	for in, want := range map[string]string{
		"ai": "ai", "ai.draft": "ai", "ai.general": "ai", "support": "support",
		"automation.route": "automation", "reporting": "reporting", "aix": "", "": "", ".ai": "",
	} {
		if got := UseOf(in); got != want {
			t.Errorf("UseOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	c := loadAcme(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.Default("customer.email", "ai.draft") != Mask {
			b.Fatal("wrong visibility")
		}
	}
}
