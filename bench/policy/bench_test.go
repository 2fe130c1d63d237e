package policybench

import (
	"context"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/policy"
)

// The seed rule, in each engine's language. Each engine gets the inputs in
// its own preferred, pre-built form (OPA a parsed ast.Value, Cedar its
// entity map and request), so the timing is the decision alone.

const seedCrisp = `allow ai.draft
when user.role in ["support", "success"]
and account.privateRevenue == hidden
and signedIdentity == true
`

// OPA has no catalog: the field's resolved visibility is an input.
const seedRego = `package crisp

default allow := false

allow if {
	input.action == "ai.draft"
	input.user.role in {"support", "success"}
	input.visibility["account.privateRevenue"] == "hidden"
	input.signedIdentity == true
}
`

const seedCedar = `permit (
	principal,
	action == Action::"ai.draft",
	resource
) when {
	["support", "success"].contains(principal.role) &&
	context.privateRevenue == "hidden" &&
	context.signedIdentity == true
};
`

type scenario struct {
	name   string
	role   string
	signed bool
	allow  bool
}

func scenarios() []scenario {
	return []scenario{
		{"allow", "support", true, true},
		{"deny_role", "sales", true, false},
		{"deny_unsigned", "support", false, false},
	}
}

func crispEngine(b *testing.B, opts ...policy.Option) *policy.Engine {
	cat, err := catalog.Load("../../configs/catalog.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e, err := policy.Compile([]policy.Source{{Name: "policies/seed.rules", Text: seedCrisp}}, cat, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func crispInput(s scenario) policy.Input {
	return policy.Input{
		User:           policy.User{ID: "mem_maya", Email: "maya@acme.example", Role: s.role, Teams: []string{s.role}, Kind: "member"},
		Customer:       policy.Customer{ID: "usr_2481", Traits: map[string]any{"email": "dana@acme.example"}},
		Account:        policy.Account{ID: "acc_acme", Traits: map[string]any{"plan": "Growth trial", "privateRevenue": 48250}},
		Action:         "ai.draft",
		SignedIdentity: s.signed,
	}
}

// BenchmarkSeedRule decides the seed rule for the same inputs with Crisp
// (uncached, and through its decision cache), OPA and Cedar, in one run:
//
//	cd bench/policy && go test -run XXX -bench SeedRule -benchmem -count 5
func BenchmarkSeedRule(b *testing.B) {
	ctx := context.Background()
	for _, s := range scenarios() {
		b.Run("crisp/"+s.name, func(b *testing.B) {
			e := crispEngine(b)
			in := crispInput(s)
			if d := e.Decide(in); d.Allow != s.allow {
				b.Fatalf("crisp: allow=%v, want %v", d.Allow, s.allow)
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(in)
			}
		})
		b.Run("crisp_cached/"+s.name, func(b *testing.B) {
			c, err := policy.NewCache(10_000)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			e := crispEngine(b, policy.WithCache(c))
			in := crispInput(s)
			for range 10 { // ristretto admits asynchronously
				if d := e.Decide(in); d.Allow != s.allow {
					b.Fatalf("crisp: allow=%v, want %v", d.Allow, s.allow)
				}
				c.Wait()
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(in)
			}
		})
		b.Run("opa/"+s.name, func(b *testing.B) {
			pq, err := rego.New(rego.Query("data.crisp.allow"), rego.Module("crisp.rego", seedRego)).PrepareForEval(ctx)
			if err != nil {
				b.Fatal(err)
			}
			input, err := ast.InterfaceToValue(map[string]any{
				"action":         "ai.draft",
				"user":           map[string]any{"id": "mem_maya", "role": s.role, "teams": []any{s.role}},
				"visibility":     map[string]any{"account.privateRevenue": "hidden"},
				"signedIdentity": s.signed,
			})
			if err != nil {
				b.Fatal(err)
			}
			opaDecide := func() bool {
				rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
				if err != nil {
					b.Fatal(err)
				}
				return rs.Allowed()
			}
			if got := opaDecide(); got != s.allow {
				b.Fatalf("opa: allow=%v, want %v", got, s.allow)
			}
			b.ReportAllocs()
			for b.Loop() {
				opaDecide()
			}
		})
		b.Run("cedar/"+s.name, func(b *testing.B) {
			ps, err := cedar.NewPolicySetFromBytes("seed.cedar", []byte(seedCedar))
			if err != nil {
				b.Fatal(err)
			}
			user := cedar.NewEntityUID("User", "mem_maya")
			entities := cedar.EntityMap{
				user: {UID: user, Attributes: cedar.NewRecord(cedar.RecordMap{"role": cedar.String(s.role)})},
			}
			req := cedar.Request{
				Principal: user,
				Action:    cedar.NewEntityUID("Action", "ai.draft"),
				Resource:  cedar.NewEntityUID("Customer", "usr_2481"),
				Context: cedar.NewRecord(cedar.RecordMap{
					"privateRevenue": cedar.String("hidden"),
					"signedIdentity": cedar.Boolean(s.signed),
				}),
			}
			if got, _ := cedar.Authorize(ps, entities, req); bool(got) != s.allow {
				b.Fatalf("cedar: allow=%v, want %v", got, s.allow)
			}
			b.ReportAllocs()
			for b.Loop() {
				cedar.Authorize(ps, entities, req)
			}
		})
	}
}

// BenchmarkRistrettoGetFloor is one ristretto lookup on its own: the floor
// under crisp_cached, which adds building and comparing the key.
func BenchmarkRistrettoGetFloor(b *testing.B) {
	c, err := ristretto.NewCache(&ristretto.Config[uint64, *policy.Decision]{
		NumCounters: 100_000, MaxCost: 10_000, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for range 10 {
		c.Set(42, &policy.Decision{}, 1)
		c.Wait()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(42); !ok {
			b.Fatal("miss")
		}
	}
}
