package identity

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The example workspace's identity secret (DESIGN.md) and a rotated one.
var (
	acmeSecret    = []byte("acme-identity-secret")
	rotatedSecret = []byte("acme-identity-secret-2")
)

// Cross-checked with:
//
//	printf usr_2481 | openssl dgst -sha256 -hmac acme-identity-secret
//	printf usr_2481 | openssl dgst -sha256 -hmac acme-identity-secret-2
const (
	usr2481Hash        = "4f3eb15378115066dc73b12d86d7b814eef797c3d10e72e92b1bb19847163977"
	usr2481RotatedHash = "f8bce9d3da033baea3631bd5367c4fe4bca833369df229cbf1650ce773ea1ce1"
	// HS256 {"sub":"usr_2481","iat":1748779200,"exp":4102444800} under
	// acme-identity-secret, built with base64 and openssl dgst -hmac.
	usr2481Token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
		"eyJzdWIiOiJ1c3JfMjQ4MSIsImlhdCI6MTc0ODc3OTIwMCwiZXhwIjo0MTAyNDQ0ODAwfQ." +
		"owYDwEhoDWCqaIj8kcfRVvkzAdGIW9et2GTSnYs2srM"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestSignKnownVectors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
		user   string
		want   string
	}{
		{"acme usr_2481", acmeSecret, "usr_2481", usr2481Hash},
		{"rotated usr_2481", rotatedSecret, "usr_2481", usr2481RotatedHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sign(tc.secret, tc.user); got != tc.want {
				t.Errorf("Sign = %s, want %s", got, tc.want)
			}
		})
	}
}

func readRSA(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k.(*rsa.PrivateKey)
}

type fixture struct {
	v          *Verifier
	rsaA, rsaB *rsa.PrivateKey
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	a, b := readRSA(t, "rsa_a.pem"), readRSA(t, "rsa_b.pem")
	v, err := NewVerifier(
		[]Secret{{ID: "acme-2024", Key: acmeSecret}, {ID: "acme-2025", Key: rotatedSecret}},
		map[string]*rsa.PublicKey{"rsa-a": &a.PublicKey},
		func() time.Time { return testNow },
	)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{v: v, rsaA: a, rsaB: b}
}

// tok signs claims with method and key; kid is set when non-empty.
func tok(t testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	j := jwt.NewWithClaims(m, claims)
	if kid != "" {
		j.Header["kid"] = kid
	}
	s, err := j.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims returns sub plus exp offset from testNow (no exp when exp is 0).
func claims(sub string, exp time.Duration) jwt.MapClaims {
	c := jwt.MapClaims{"iat": testNow.Add(-time.Minute).Unix()}
	if sub != "" {
		c["sub"] = sub
	}
	if exp != 0 {
		c["exp"] = testNow.Add(exp).Unix()
	}
	return c
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerify(t *testing.T) {
	f := newFixture(t)
	hs, rs := jwt.SigningMethodHS256, jwt.SigningMethodRS256
	good := claims("usr_2481", time.Hour)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&f.rsaA.PublicKey))})

	for _, tc := range []struct {
		name        string
		user, hash  string
		token       string
		wantOK      bool
		wantMethod  string
		wantKey     string
		wantSubject string
		wantReason  string // substring; checked when !wantOK
	}{
		// X-Crisp-User-Hash
		{name: "hmac correct hash", user: "usr_2481", hash: usr2481Hash, wantOK: true, wantMethod: "hmac", wantKey: "acme-2024", wantSubject: "usr_2481"},
		{name: "hmac rotated secret", user: "usr_2481", hash: usr2481RotatedHash, wantOK: true, wantMethod: "hmac", wantKey: "acme-2025", wantSubject: "usr_2481"},
		{name: "hmac wrong secret", user: "usr_2481", hash: Sign([]byte("not-the-secret"), "usr_2481"), wantMethod: "hmac", wantReason: "does not match any active identity secret"},
		{name: "hmac hash of another user", user: "usr_9999", hash: usr2481Hash, wantMethod: "hmac", wantReason: "does not match"},
		{name: "hmac empty id", user: "", hash: usr2481Hash, wantMethod: "hmac", wantReason: "empty user id"},
		{name: "hmac non-hex hash", user: "usr_2481", hash: strings.Repeat("g", 64), wantMethod: "hmac", wantReason: "non-hex"},
		{name: "hmac uppercase hash", user: "usr_2481", hash: strings.ToUpper(usr2481Hash), wantMethod: "hmac", wantReason: "uppercase"},
		{name: "hmac too short", user: "usr_2481", hash: usr2481Hash[:63], wantMethod: "hmac", wantReason: "got 63 characters"},
		{name: "hmac too long", user: "usr_2481", hash: usr2481Hash + "0", wantMethod: "hmac", wantReason: "got 65 characters"},
		{name: "nothing presented", user: "usr_2481", wantMethod: "none", wantReason: "no identity signature"},
		{name: "nothing at all", wantMethod: "none", wantReason: "no user id"},

		// X-Crisp-Identity-Token
		{name: "jwt openssl vector", user: "usr_2481", token: usr2481Token, wantOK: true, wantMethod: "jwt", wantKey: "acme-2024", wantSubject: "usr_2481"},
		{name: "jwt hs256 without user id header", token: tok(t, hs, acmeSecret, "", good), wantOK: true, wantMethod: "jwt", wantKey: "acme-2024", wantSubject: "usr_2481"},
		{name: "jwt rotated secret without kid", user: "usr_2481", token: tok(t, hs, rotatedSecret, "", good), wantOK: true, wantMethod: "jwt", wantKey: "acme-2025", wantSubject: "usr_2481"},
		{name: "jwt kid selects rotated secret", user: "usr_2481", token: tok(t, hs, rotatedSecret, "acme-2025", good), wantOK: true, wantMethod: "jwt", wantKey: "acme-2025", wantSubject: "usr_2481"},
		{name: "jwt kid selects the other secret", user: "usr_2481", token: tok(t, hs, rotatedSecret, "acme-2024", good), wantMethod: "jwt", wantReason: "signature does not match"},
		{name: "jwt unknown kid", user: "usr_2481", token: tok(t, hs, acmeSecret, "retired", good), wantMethod: "jwt", wantReason: "kid does not name an active key"},
		{name: "jwt wrong secret", user: "usr_2481", token: tok(t, hs, []byte("not-the-secret"), "", good), wantMethod: "jwt", wantReason: "signature does not match"},
		{name: "jwt expired", user: "usr_2481", token: tok(t, hs, acmeSecret, "", claims("usr_2481", -time.Minute)), wantMethod: "jwt", wantReason: "expired"},
		{name: "jwt expired within leeway", user: "usr_2481", token: tok(t, hs, acmeSecret, "", claims("usr_2481", -10*time.Second)), wantOK: true, wantMethod: "jwt", wantKey: "acme-2024", wantSubject: "usr_2481"},
		{name: "jwt without exp", user: "usr_2481", token: tok(t, hs, acmeSecret, "", claims("usr_2481", 0)), wantMethod: "jwt", wantReason: "no exp"},
		{name: "jwt issued in the future", user: "usr_2481", token: tok(t, hs, acmeSecret, "", jwt.MapClaims{"sub": "usr_2481", "iat": testNow.Add(time.Hour).Unix(), "exp": testNow.Add(2 * time.Hour).Unix()}), wantMethod: "jwt", wantReason: "future"},
		{name: "jwt not valid yet", user: "usr_2481", token: tok(t, hs, acmeSecret, "", jwt.MapClaims{"sub": "usr_2481", "nbf": testNow.Add(time.Hour).Unix(), "exp": testNow.Add(2 * time.Hour).Unix()}), wantMethod: "jwt", wantReason: "not valid yet"},
		{name: "jwt wrong sub", user: "usr_2481", token: tok(t, hs, acmeSecret, "", claims("usr_1111", time.Hour)), wantMethod: "jwt", wantReason: "sub does not match"},
		{name: "jwt empty id and no sub", token: tok(t, hs, acmeSecret, "", claims("", time.Hour)), wantMethod: "jwt", wantReason: "empty user id"},
		{name: "jwt no sub with user id", user: "usr_2481", token: tok(t, hs, acmeSecret, "", claims("", time.Hour)), wantMethod: "jwt", wantReason: "no sub"},
		{name: "jwt exp of wrong type", user: "usr_2481", token: tok(t, hs, acmeSecret, "", jwt.MapClaims{"sub": "usr_2481", "exp": "tomorrow"}), wantMethod: "jwt", wantReason: "malformed"},
		{name: "jwt malformed", user: "usr_2481", token: "not.a.jwt", wantMethod: "jwt", wantReason: "malformed"},
		{name: "jwt too long", user: "usr_2481", token: strings.Repeat("a", maxTokenLen+1), wantMethod: "jwt", wantReason: "longer than"},
		{name: "jwt rs256 good", user: "usr_2481", token: tok(t, rs, f.rsaA, "", good), wantOK: true, wantMethod: "jwt", wantKey: "rsa-a", wantSubject: "usr_2481"},
		{name: "jwt rs256 kid selects key", user: "usr_2481", token: tok(t, rs, f.rsaA, "rsa-a", good), wantOK: true, wantMethod: "jwt", wantKey: "rsa-a", wantSubject: "usr_2481"},
		{name: "jwt rs256 unknown signer", user: "usr_2481", token: tok(t, rs, f.rsaB, "", good), wantMethod: "jwt", wantReason: "signature does not match"},
		{name: "jwt rs256 signer claims known kid", user: "usr_2481", token: tok(t, rs, f.rsaB, "rsa-a", good), wantMethod: "jwt", wantReason: "signature does not match"},
		{name: "jwt rs256 kid names an hmac secret", user: "usr_2481", token: tok(t, rs, f.rsaA, "acme-2024", good), wantMethod: "jwt", wantReason: "kid does not name"},
		{name: "jwt rs512 refused", user: "usr_2481", token: tok(t, jwt.SigningMethodRS512, f.rsaA, "", good), wantMethod: "jwt", wantReason: `"RS512" is not allowed`},
		{name: "jwt hs512 refused", user: "usr_2481", token: tok(t, jwt.SigningMethodHS512, acmeSecret, "", good), wantMethod: "jwt", wantReason: `"HS512" is not allowed`},
		{name: "jwt alg none", user: "usr_2481", token: b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(`{"sub":"usr_2481","exp":4102444800}`) + ".", wantMethod: "jwt", wantReason: `"none" is not allowed`},
		{name: "jwt alg none signed anyway", user: "usr_2481", token: tok(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good), wantMethod: "jwt", wantReason: `"none" is not allowed`},
		{name: "jwt alg missing", user: "usr_2481", token: b64(`{"typ":"JWT"}`) + "." + b64(`{"sub":"usr_2481","exp":4102444800}`) + ".c2ln", wantMethod: "jwt", wantReason: "missing or unknown"},
		{name: "jwt confusion: hs256 keyed by rsa public key, rsa kid", user: "usr_2481", token: tok(t, hs, pubPEM, "rsa-a", good), wantMethod: "jwt", wantReason: "kid does not name"},
		{name: "jwt confusion: hs256 keyed by rsa public key", user: "usr_2481", token: tok(t, hs, pubPEM, "", good), wantMethod: "jwt", wantReason: "signature does not match"},
		{name: "jwt kid not a string", user: "usr_2481", token: tokKid(t, acmeSecret, 7, good), wantMethod: "jwt", wantReason: "kid must be a string"},

		// Both headers: both must verify.
		{name: "both good", user: "usr_2481", hash: usr2481Hash, token: usr2481Token, wantOK: true, wantMethod: "jwt", wantKey: "acme-2024", wantSubject: "usr_2481"},
		{name: "both, hash bad", user: "usr_2481", hash: usr2481RotatedHash[:60] + "0000", token: usr2481Token, wantMethod: "hmac", wantReason: "token verified but user hash does not match"},
		{name: "both, token bad", user: "usr_2481", hash: usr2481Hash, token: tok(t, hs, acmeSecret, "", claims("usr_2481", -time.Hour)), wantMethod: "jwt", wantReason: "expired"},
		{name: "both, no user id header", hash: usr2481Hash, token: usr2481Token, wantOK: true, wantMethod: "jwt", wantKey: "acme-2024", wantSubject: "usr_2481"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.v.Verify(tc.user, tc.hash, tc.token)
			if a.Verified != tc.wantOK || a.Method != tc.wantMethod {
				t.Fatalf("Verify = %+v, want verified=%v method=%s", a, tc.wantOK, tc.wantMethod)
			}
			if tc.wantOK {
				if a.KeyID != tc.wantKey || a.Subject != tc.wantSubject || a.Reason != "" {
					t.Errorf("Verify = %+v, want key=%s subject=%s and no reason", a, tc.wantKey, tc.wantSubject)
				}
				return
			}
			if !strings.Contains(a.Reason, tc.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", a.Reason, tc.wantReason)
			}
			if a.Subject != "" || a.KeyID != "" {
				t.Errorf("unverified Assurance carries subject/key: %+v", a)
			}
			checkReasonSafe(t, a.Reason, tc.hash, tc.token)
		})
	}
}

// tokKid signs an HS256 token whose kid header is not a string.
func tokKid(t *testing.T, key []byte, kid any, c jwt.MapClaims) string {
	j := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	j.Header["kid"] = kid
	s, err := j.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// checkReasonSafe fails when a reason echoes key material, the hash or the
// token: reasons are shown to callers and written to audit.
func checkReasonSafe(t testing.TB, reason, hash, token string) {
	t.Helper()
	for _, s := range []string{string(acmeSecret), string(rotatedSecret)} {
		if strings.Contains(reason, s) {
			t.Errorf("reason %q echoes a secret", reason)
		}
	}
	if len(hash) >= 8 && strings.Contains(strings.ToLower(reason), strings.ToLower(hash[:8])) {
		t.Errorf("reason %q echoes the user hash", reason)
	}
	if len(token) >= 8 && strings.Contains(reason, token[:8]) {
		t.Errorf("reason %q echoes the token", reason)
	}
}

func TestVerifyTimes(t *testing.T) {
	f := newFixture(t)
	a := f.v.Verify("usr_2481", "", usr2481Token)
	if !a.IssuedAt.Equal(time.Unix(1748779200, 0)) || !a.ExpiresAt.Equal(time.Unix(4102444800, 0)) {
		t.Errorf("times = %v / %v", a.IssuedAt, a.ExpiresAt)
	}
	h := f.v.Verify("usr_2481", usr2481Hash, "")
	if !h.IssuedAt.IsZero() || !h.ExpiresAt.IsZero() {
		t.Errorf("hmac assurance has times: %+v", h)
	}
}

func TestVerifyNoKeys(t *testing.T) {
	v, err := NewVerifier(nil, nil, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, hash, token, want string }{
		{"hash", usr2481Hash, "", "no identity secrets are configured"},
		{"token", "", usr2481Token, "no keys are configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := v.Verify("usr_2481", tc.hash, tc.token); a.Verified || !strings.HasPrefix(a.Reason, tc.want) {
				t.Errorf("Verify = %+v, want reason %q", a, tc.want)
			}
		})
	}
}

func TestNewVerifierRejects(t *testing.T) {
	weak := readRSA(t, "rsa_weak.pem")
	strong := readRSA(t, "rsa_a.pem")
	for _, tc := range []struct {
		name    string
		secrets []Secret
		rsa     map[string]*rsa.PublicKey
		want    string
	}{
		{"empty id", []Secret{{Key: acmeSecret}}, nil, "secret #1: empty id"},
		{"empty key", []Secret{{ID: "a"}}, nil, `"a": empty key`},
		{"duplicate id", []Secret{{ID: "a", Key: acmeSecret}, {ID: "a", Key: rotatedSecret}}, nil, "duplicate id"},
		{"nil rsa key", nil, map[string]*rsa.PublicKey{"r": nil}, "nil key"},
		{"empty rsa id", nil, map[string]*rsa.PublicKey{"": &strong.PublicKey}, "empty id"},
		{"weak rsa key", nil, map[string]*rsa.PublicKey{"r": &weak.PublicKey}, "1024 bits"},
		{"rsa id shadows secret", []Secret{{ID: "a", Key: acmeSecret}}, map[string]*rsa.PublicKey{"a": &strong.PublicKey}, "also names an hmac secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.secrets, tc.rsa, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), string(acmeSecret)) {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
}

// TestVerifierCopiesSecrets guards against a caller zeroing or reusing its
// buffer after building the Verifier.
func TestVerifierCopiesSecrets(t *testing.T) {
	key := append([]byte(nil), acmeSecret...)
	v, err := NewVerifier([]Secret{{ID: "k", Key: key}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	if a := v.Verify("usr_2481", usr2481Hash, ""); !a.Verified {
		t.Errorf("Verify after caller cleared its key: %+v", a)
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add("usr_2481", usr2481Hash, "")
	f.Add("usr_2481", "", usr2481Token)
	f.Add("", usr2481Hash, usr2481Token)
	f.Add("usr_2481", strings.ToUpper(usr2481Hash), "a.b.c")
	f.Fuzz(func(t *testing.T, user, hash, token string) {
		a := fx.v.Verify(user, hash, token)
		switch a.Method {
		case MethodHMAC, MethodJWT, MethodNone:
		default:
			t.Fatalf("Method = %q", a.Method)
		}
		if a.Verified {
			if a.Subject == "" || a.Reason != "" || a.KeyID == "" || (user != "" && a.Subject != user) {
				t.Fatalf("inconsistent verified Assurance %+v for user %q", a, user)
			}
			return
		}
		if a.Reason == "" || a.Subject != "" {
			t.Fatalf("unverified Assurance without reason or with subject: %+v", a)
		}
		checkReasonSafe(t, a.Reason, hash, token)
	})
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	rsTok := tok(b, jwt.SigningMethodRS256, f.rsaA, "rsa-a", claims("usr_2481", time.Hour))
	for _, bc := range []struct{ name, hash, token string }{
		{"hmac", usr2481Hash, ""},
		{"hmac-rotated", usr2481RotatedHash, ""},
		{"jwt-hs256", "", usr2481Token},
		{"jwt-rs256", "", rsTok},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if a := f.v.Verify("usr_2481", bc.hash, bc.token); !a.Verified {
					b.Fatal(a.Reason)
				}
			}
		})
	}
}
