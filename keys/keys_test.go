package keys

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k, "ck_") || len(k) != 46 || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
	}
}

type fakeSource struct {
	recs  []Record
	calls atomic.Int32
	err   error
}

func (f *fakeSource) KeysByPrefix(_ context.Context, prefix string) ([]Record, error) {
	f.calls.Add(1)
	var out []Record
	for _, r := range f.recs {
		if r.Prefix == prefix {
			out = append(out, r)
		}
	}
	return out, f.err
}

func record(key, id string) Record {
	return Record{Prefix: Prefix(key), SHA256: Hash(key), Caller: Caller{KeyID: id, Actions: []string{"ai.*"}}}
}

func TestAuthenticate(t *testing.T) {
	stored, _ := New()
	src := &fakeSource{recs: []Record{record(stored, "stored")}}
	a, err := NewAuthenticator([]Record{record("ck_demo_support", "demo")}, src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		name, key, wantID string
		wantErr           error
	}{
		{"configured key", "ck_demo_support", "demo", nil},
		{"stored key", stored, "stored", nil},
		{"empty", "", "", ErrUnknown},
		{"same prefix, wrong key", "ck_demo_supporT", "", ErrUnknown},
		{"stored prefix, wrong rest", stored[:PrefixLen] + "x", "", ErrUnknown},
		{"unknown", "ck_nothing_like_it", "", ErrUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := a.Authenticate(context.Background(), tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && c.KeyID != tt.wantID {
				t.Fatalf("caller %s, want %s", c.KeyID, tt.wantID)
			}
		})
	}
}

func TestSourceFailureIsNotUnknown(t *testing.T) {
	src := &fakeSource{err: errors.New("db down")}
	a, _ := NewAuthenticator(nil, src)
	defer a.Close()
	_, err := a.Authenticate(context.Background(), "ck_whatever_key")
	if err == nil || errors.Is(err, ErrUnknown) {
		t.Fatalf("err = %v: a store failure must not read as a bad key", err)
	}
}

func TestPatterns(t *testing.T) {
	c := Caller{Actions: []string{"ai.draft", "ai.agent.*"}, Models: []string{"gpt-4o*", "anthropic/*"}}
	for _, tc := range []struct {
		got, want bool
		what      string
	}{
		{c.MayUse("ai.draft"), true, "exact action"},
		{c.MayUse("ai.agent.search_customers"), true, "pattern action"},
		{c.MayUse("ai.general"), false, "other action"},
		{c.MayCall("gpt-4o-mini"), true, "model pattern"},
		{c.MayCall("anthropic/claude-sonnet-4"), true, "vendor pattern"},
		{c.MayCall("o3"), false, "other model"},
		{(&Caller{}).MayCall("anything"), true, "no models means all"},
		{(&Caller{}).MayUse("ai.general"), false, "no actions means none"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v", tc.what, tc.got)
		}
	}
}

func TestFromHeaders(t *testing.T) {
	for _, tc := range []struct{ auth, xkey, want string }{
		{"Bearer ck_a", "", "ck_a"},
		{"bearer ck_a ", "", "ck_a"},
		{"", "ck_b", "ck_b"},
		{"Basic abc", "", ""},
	} {
		if got := FromHeaders(tc.auth, tc.xkey); got != tc.want {
			t.Errorf("FromHeaders(%q,%q) = %q", tc.auth, tc.xkey, got)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	a, _ := NewAuthenticator([]Record{record("ck_demo_support", "demo")}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(context.Background(), "ck_demo_support"); err != nil {
			b.Fatal(err)
		}
	}
}
