package policy

import (
	"fmt"
	"testing"
	"time"
)

func newTestCache(t *testing.T) *Cache {
	t.Helper()
	c, err := NewCache(1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// decideTwice decides, lets ristretto admit the entry, and decides again.
func decideTwice(e *Engine, in Input) (first, second Decision) {
	first = e.Decide(in)
	e.cache.Wait()
	return first, e.Decide(in)
}

// A cached decision is the one Decide makes, and the cache is keyed by what
// the rules read: a change there is a different decision.
func TestCacheKeyedByInputsRead(t *testing.T) {
	c := newTestCache(t)
	rules := "mask customer.email for ai.draft when account.plan == \"Enterprise\"\nallow ai.draft when user.role in [\"support\"] and signedIdentity"
	e := compile(t, rules, WithCache(c))
	plain := compile(t, rules)
	inputs := map[string]func(*Input){
		"base":             func(*Input) {},
		"role read":        func(in *Input) { in.User.Role = "sales" },
		"signed read":      func(in *Input) { in.SignedIdentity = false },
		"trait read":       func(in *Input) { in.Account.Traits["plan"] = "Enterprise" },
		"trait not read":   func(in *Input) { in.Account.Traits["name"] = "Other" },
		"customer ignored": func(in *Input) { in.Customer.ID = "usr_1" },
	}
	for name, change := range inputs {
		t.Run(name, func(t *testing.T) {
			in := acmeInput("support", true)
			in.Account.Traits = maps(in.Account.Traits)
			change(&in)
			want := mustJSON(t, plain.Decide(in))
			first, second := decideTwice(e, in)
			if got := mustJSON(t, first); got != want {
				t.Fatalf("first decision\n%s\nwant\n%s", got, want)
			}
			if got := mustJSON(t, second); got != want {
				t.Fatalf("cached decision\n%s\nwant\n%s", got, want)
			}
			p := e.plan(in.Action)
			h, ok := c.hash(p, &in, nil)
			if !ok {
				t.Fatal("not cacheable")
			}
			if _, hit := c.get(p, &in, h, nil); !hit {
				t.Fatal("not in the cache after two decisions")
			}
		})
	}
}

// After a reload the new policy decides, never an entry of the old one.
func TestCacheNeverStaleAfterReload(t *testing.T) {
	c := newTestCache(t)
	in := acmeInput("support", true)
	old := compile(t, "allow ai.draft", WithCache(c))
	if _, d := decideTwice(old, in); !d.Allow {
		t.Fatal("old policy should allow")
	}
	reloaded := compile(t, "allow ai.draft when user.role == \"sales\"", WithCache(c))
	if _, d := decideTwice(reloaded, in); d.Allow {
		t.Fatalf("reloaded policy answered from the old one: %v", d.Explanation)
	}
	if old.plan("ai.draft").keyHash == reloaded.plan("ai.draft").keyHash {
		t.Fatal("engines share a key space")
	}
}

// What cannot be keyed exactly is never cached.
func TestCacheSkipsWhatItCannotKey(t *testing.T) {
	c := newTestCache(t)
	journey := compile(t, `allow ai.draft when customer.did("Visited pricing", within: "1h")`, WithCache(c))
	if journey.plan("ai.draft").cache {
		t.Fatal("a decision that reads the clock must not be cached")
	}
	now := time.Date(2025, 6, 6, 12, 0, 0, 0, time.UTC)
	in := acmeInput("support", true)
	in.Journey = []Event{{Name: "Visited pricing", At: now}}
	in.Now = now
	if _, d := decideTwice(journey, in); !d.Allow {
		t.Fatal("want allow within the hour")
	}
	in.Now = now.Add(2 * time.Hour)
	if d := journey.Decide(in); d.Allow {
		t.Fatal("want deny two hours later")
	}

	maps := compile(t, `allow ai.draft when account.plan == "x"`, WithCache(c))
	in = acmeInput("support", true)
	in.Account.Traits = map[string]any{"plan": map[string]any{"name": "x"}}
	p := maps.plan("ai.draft")
	if _, ok := c.hash(p, &in, nil); ok {
		t.Fatal("a map trait has no exact key")
	}
}

// Keys are unambiguous: different values never encode alike.
func TestCacheKeysDistinct(t *testing.T) {
	e := compile(t, `allow ai.draft when user.role == "a" and user.email == "b" and user.teams contains "c" and account.plan == "d"`, WithCache(newTestCache(t)))
	p := e.plan("ai.draft")
	variants := []func(*Input){
		func(in *Input) { in.User.Role, in.User.Email = "ab", "" },
		func(in *Input) { in.User.Role, in.User.Email = "a", "b" },
		func(in *Input) { in.User.Role, in.User.Email = "", "ab" },
		func(in *Input) { in.User.Teams = []string{"x", "y"} },
		func(in *Input) { in.User.Teams = []string{"xy"} },
		func(in *Input) { in.User.Teams = []string{"x", "y", ""} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": "1"} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": 1} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": true} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": nil} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": []any{"1"}} },
		func(in *Input) { in.Account.Traits = map[string]any{"plan": []string{"1"}} },
		func(in *Input) { in.Action = "ai.ask" },
	}
	seen := map[string]int{}
	for i, v := range variants {
		in := acmeInput("support", true)
		v(&in)
		vals := make([]string, len(p.keySlots))
		for k := range p.keySlots {
			s, b, ok := keyValue(&p.keySlots[k], &in, nil)
			if !ok {
				t.Fatalf("variant %d not cacheable", i)
			}
			vals[k] = s
			if b != nil {
				vals[k] = "enc:" + string(b)
			}
		}
		id := fmt.Sprintf("%s %q", in.Action, vals)
		if j, dup := seen[id]; dup {
			// []any{"1"} and []string{"1"} read alike, so they may share.
			if !(i == 11 && j == 10) {
				t.Fatalf("variants %d and %d share a key", j, i)
			}
		}
		seen[id] = i
	}
}

// Decide is safe for concurrent use, cached or not, for precomputed and
// on-demand plans alike.
func TestDecideConcurrent(t *testing.T) {
	c := newTestCache(t)
	e, err := Load(acmeDir, acmeCatalog(t), WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 200 {
				in := acmeInput([]string{"support", "sales"}[i%2], i%3 != 0)
				in.Action = []string{"ai.draft", "ai.agent.tool" + string(rune('a'+g)), "ai.general"}[i%3]
				d := e.Decide(in)
				want := in.Action != "ai.draft" && in.Action != "ai.general" && in.User.Role == "support" && in.SignedIdentity ||
					in.Action == "ai.draft" && in.User.Role == "support" && in.SignedIdentity ||
					in.Action == "ai.general"
				ok = ok && d.Allow == want
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Fatal("a concurrent decision was wrong")
		}
	}
}
