package web

import (
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	token, sess := s.create("maya@acme.example")
	tests := []struct {
		name  string
		token string
		after time.Duration
		ok    bool
	}{
		{name: "fresh", token: token, ok: true},
		{name: "unknown token", token: "nope", ok: false},
		{name: "empty token", token: "", ok: false},
		{name: "just before expiry", token: token, after: time.Hour, ok: true},
		{name: "expired", token: token, after: time.Hour + time.Second, ok: false},
		{name: "stays expired", token: token, ok: false},
	}
	for _, tt := range tests {
		now = now.Add(tt.after)
		got, ok := s.get(tt.token)
		if ok != tt.ok || (ok && got != sess) {
			t.Errorf("%s: get = %v, %v", tt.name, got, ok)
		}
	}
	if len(s.m) != 0 {
		t.Errorf("an expired session stayed in memory: %d", len(s.m))
	}
	for k := range s.m {
		if k == token {
			t.Error("the map holds the raw token")
		}
	}

	token2, sess2 := s.create("ada@acme.example")
	if sess2.csrf == "" || sess2.csrf == sess.csrf || len(token2) < 40 {
		t.Errorf("weak session: token %q csrf %q", token2, sess2.csrf)
	}
	s.end(token2)
	if _, ok := s.get(token2); ok {
		t.Error("an ended session still works")
	}
}

// Memory stays bounded: past maxSessions the soonest to expire goes.
func TestSessionsBounded(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	first, _ := s.create("first@acme.example")
	for range maxSessions {
		now = now.Add(time.Millisecond)
		s.create("m@acme.example")
	}
	if len(s.m) > maxSessions {
		t.Errorf("%d sessions held, bound %d", len(s.m), maxSessions)
	}
	if _, ok := s.get(first); ok {
		t.Error("the oldest session survived the sweep")
	}
}

func TestSameToken(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"x", "x", true}, {"x", "y", false}, {"", "", false}, {"x", "", false}} {
		if got := sameToken(tt.a, tt.b); got != tt.want {
			t.Errorf("sameToken(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/ui/inbox", "/ui/catalog": "/ui/catalog", "//evil.example": "/ui/inbox", "/\\evil.example": "/ui/inbox",
		"https://evil.example/": "/ui/inbox", "/ui/signin": "/ui/inbox", "javascript:alert(1)": "/ui/inbox",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskValue(t *testing.T) {
	for in, want := range map[string]string{
		"dana@acme.example": "d•••@acme.example", "+1 415 555 0199": "••••99", "abc": "••••", "": "••••",
	} {
		if got := maskValue(in); got != want {
			t.Errorf("maskValue(%q) = %q, want %q", in, got, want)
		}
	}
}
