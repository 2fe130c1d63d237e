package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseSigningKey(t *testing.T) {
	seed := testKey.Seed()
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "base64 seed", in: base64.StdEncoding.EncodeToString(seed)},
		{name: "raw url base64 seed", in: base64.RawURLEncoding.EncodeToString(seed)},
		{name: "hex seed", in: hex.EncodeToString(seed)},
		{name: "hex key with spaces", in: " " + hex.EncodeToString(testKey) + "\n"},
		{name: "base64 key", in: base64.StdEncoding.EncodeToString(testKey)},
		{name: "empty", in: "", wantErr: true},
		{name: "short", in: "c2hvcnQ=", wantErr: true},
		{name: "not base64", in: "not a key!", wantErr: true},
		{name: "mismatched public half", in: hex.EncodeToString(append(seed, make([]byte, 32)...)), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseSigningKey(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			must(t, err)
			if !key.Equal(testKey) {
				t.Errorf("parsed another key")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string // substring of the error; "" for none
	}{
		{name: "defaults", c: Config{}},
		{name: "full", c: Config{SigningKey: Secret(hex.EncodeToString(testKey.Seed())), Retention: 2160 * time.Hour,
			VerifyKeys: []string{hex.EncodeToString(testKey.Public().(ed25519.PublicKey))}}},
		{name: "bad key", c: Config{SigningKey: "nope"}, want: "audit.signing_key"},
		{name: "bad verify key", c: Config{VerifyKeys: []string{"abcd"}}, want: "audit.verify_keys[0]"},
		{name: "negative batch", c: Config{MaxBatch: -1}, want: "audit.max_batch"},
		{name: "retention too short", c: Config{Retention: time.Minute}, want: "audit.retention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.ApplyDefaults()
			err := tt.c.Validate()
			if tt.want == "" {
				must(t, err)
				if _, err := tt.c.Options(nopLogger()); err != nil {
					t.Error(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), string(tt.c.SigningKey)) && tt.c.SigningKey != "" {
				t.Errorf("the error shows the key")
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("seed")
	if strings.Contains(s.String(), "seed") {
		t.Error("Secret.String shows the value")
	}
	if b, _ := s.MarshalText(); strings.Contains(string(b), "seed") {
		t.Error("Secret.MarshalText shows the value")
	}
}

func TestParseFilter(t *testing.T) {
	now := t0
	tests := []struct {
		name    string
		query   string
		want    Filter
		wantErr bool
	}{
		{name: "empty", query: ""},
		{name: "exact fields", query: "member=maya@acme.example&customer=usr_2481&account=acc_acme&action=ai.draft&decision=deny&model=gpt-4o&provider=openai&kind=ai.use&limit=10&cursor=abc",
			want: Filter{Member: "maya@acme.example", CustomerID: "usr_2481", AccountID: "acc_acme", Action: "ai.draft",
				Decision: "deny", Model: "gpt-4o", Provider: "openai", Kind: "ai.use", Limit: 10, Cursor: "abc"}},
		{name: "times", query: "from=2025-03-01T00:00:00Z&to=2025-03-02",
			want: Filter{From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "since", query: "since=24h", want: Filter{From: now.Add(-24 * time.Hour)}},
		{name: "unknown parameter", query: "who=me", wantErr: true},
		{name: "bad decision", query: "decision=maybe", wantErr: true},
		{name: "bad time", query: "from=yesterday", wantErr: true},
		{name: "negative limit", query: "limit=-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			must(t, err)
			got, err := ParseFilter(q, now)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			must(t, err)
			if !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
				t.Errorf("times %v..%v, want %v..%v", got.From, got.To, tt.want.From, tt.want.To)
			}
			got.From, got.To, tt.want.From, tt.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("ParseFilter = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("member=maya@acme.example&since=24h&decision=allow")
	f.Add("from=2025-03-01T00:00:00Z&to=2025-03-02&limit=5")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		f, err := ParseFilter(q, t0)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		if err == nil && (f.Limit < 0 || (f.Decision != "" && f.Decision != "allow" && f.Decision != "deny")) {
			t.Fatalf("accepted %+v", f)
		}
	})
}

func FuzzParseSigningKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(testKey.Seed()))
	f.Add(hex.EncodeToString(testKey))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSigningKey(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(key) != ed25519.PrivateKeySize {
			t.Fatalf("key of %d bytes", len(key))
		}
	})
}
