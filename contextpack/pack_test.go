package contextpack

import (
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/store"
)

// words counts whitespace-separated words: a stand-in tokenizer that makes
// budget tests exact.
type words struct{}

func (words) Count(s string) int { return len(strings.Fields(s)) }

func acme(t *testing.T) *catalog.Catalog {
	t.Helper()
	data, err := configs.FS.ReadFile("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Parse("catalog.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func dana() *identity.Subject {
	return &identity.Subject{Known: true,
		CustomerFields: map[string]any{"id": "usr_2481", "name": "Dana", "email": "dana@acme.example", "phone": "+1 415 555 0199", "role": "Billing owner"},
		AccountFields:  map[string]any{"id": "acc_acme", "name": "Acme workspace", "plan": "Growth trial", "privateRevenue": 48250.0, "seats": 5.0},
	}
}

var day = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func journey() []store.Event {
	return []store.Event{
		{Name: "Asked chat", Timestamp: day},
		{Name: "Secret internal event", Timestamp: day.Add(-time.Hour)},
		{Name: "Opened billing", Timestamp: day.Add(-2 * time.Hour)},
	}
}

func TestBuild(t *testing.T) {
	cat := acme(t)
	b := NewBuilder(cat, 1000, words{})
	p := b.Build(Input{
		Action: "ai.draft", Subject: dana(), Journey: journey(),
		Visibility: func(f string) catalog.Visibility { return cat.Default(f, "ai") },
		Mask:       func(f, v string) string { return "[masked:" + f + "#1]" },
	})
	text := p.Text()
	for _, want := range []string{"account.plan: Growth trial", "customer.email: [masked:customer.email#1]", "- 2026-11-20 Asked chat", "Opened billing"} {
		if !strings.Contains(text, want) {
			t.Errorf("pack lacks %q:\n%s", want, text)
		}
	}
	for _, never := range []string{"48250", "415", "dana@acme.example", "privateRevenue", "phone", "Secret internal event"} {
		if strings.Contains(text, never) {
			t.Errorf("pack carries %q:\n%s", never, text)
		}
	}
	if got := strings.Join(p.Masked(), ","); got != "customer.email" {
		t.Errorf("masked = %s", got)
	}
	if _, ok := p.Shown()["customer.email"]; ok {
		t.Error("a masked field listed as shown")
	}
}

func TestBudget(t *testing.T) {
	cat := acme(t)
	full := NewBuilder(cat, 1000, words{}).Build(Input{Action: "ai.draft", Subject: dana(), Journey: journey(),
		Visibility: func(f string) catalog.Visibility { return cat.Default(f, "ai") }, Mask: func(f, v string) string { return "[m]" }})
	small := NewBuilder(cat, full.Tokens-3, words{}).Build(Input{Action: "ai.draft", Subject: dana(), Journey: journey(),
		Visibility: func(f string) catalog.Visibility { return cat.Default(f, "ai") }, Mask: func(f, v string) string { return "[m]" }})
	if small.Tokens > full.Tokens-3 || small.Omitted == 0 {
		t.Fatalf("budget not applied: full %d, small %d (omitted %d)", full.Tokens, small.Tokens, small.Omitted)
	}
}

func TestNoSubject(t *testing.T) {
	p := NewBuilder(acme(t), 0, words{}).Build(Input{Action: "ai.general"})
	if !p.Empty() || p.Text() != "" {
		t.Fatalf("general use got context: %q", p.Text())
	}
}

func TestCounter(t *testing.T) {
	c, err := NewCounter()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := c.Count("account.plan: Growth trial"); n < 4 || n > 10 {
		t.Fatalf("tokens = %d", n)
	}
}
