package identity

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Methods reported in Assurance.Method.
const (
	MethodHMAC = "hmac" // X-Crisp-User-Hash
	MethodJWT  = "jwt"  // X-Crisp-Identity-Token
	MethodNone = "none" // no signature was presented
)

// Leeway is the clock skew allowed when checking a token's exp, nbf and iat:
// small enough that an expired token stops working within a minute, large
// enough that a customer's server with a slightly fast clock still works.
const Leeway = 30 * time.Second

// maxTokenLen bounds the work an unauthenticated caller can ask of us; real
// identity tokens are a few hundred bytes.
const maxTokenLen = 8 << 10

// minRSABits refuses keys that are too weak to be a signature at all.
const minRSABits = 2048

// Secret is one active HMAC identity secret. ID names it in audit records and
// is the JWT "kid" that selects it; Key is the shared secret itself.
type Secret struct {
	ID  string
	Key []byte
}

// Assurance is the outcome of verifying a signed identity. Every field is
// safe to show, log and audit: none of them carries key material, the user
// hash or the token.
type Assurance struct {
	// Verified is true only when every presented signature checked out.
	Verified bool
	// Method is MethodHMAC, MethodJWT or MethodNone. When both a hash and
	// a token are presented, both must verify and Method is MethodJWT,
	// because the token carries the richer facts (times, key id).
	Method string
	// Subject is the signed user id; empty unless Verified, so a caller
	// cannot mistake a claimed id for a proven one.
	Subject string
	// KeyID is the ID of the secret or RSA key that verified the signature.
	KeyID string
	// IssuedAt and ExpiresAt come from the token; zero when n/a.
	IssuedAt, ExpiresAt time.Time
	// Reason says why Verified is false; empty when verified.
	Reason string
}

// Verifier checks signed customer identities against the active secrets.
// It is immutable after NewVerifier and safe for concurrent use.
type Verifier struct {
	secrets []Secret
	rsaKeys map[string]*rsa.PublicKey
	rsaIDs  []string // stable order for trying keys when a token has no kid
	now     func() time.Time
	parser  *jwt.Parser
}

// NewVerifier builds a Verifier. Several HMAC secrets may be active at once
// so a secret can be rotated without downtime; rsaKeys (by key id) verify
// RS256 tokens. now is the clock (nil means time.Now). Secret IDs and RSA key
// ids share one namespace so a kid can never select a key of the wrong kind.
func NewVerifier(hmacSecrets []Secret, rsaKeys map[string]*rsa.PublicKey, now func() time.Time) (*Verifier, error) {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{rsaKeys: make(map[string]*rsa.PublicKey, len(rsaKeys)), now: now}
	seen := make(map[string]bool)
	for i, s := range hmacSecrets {
		switch {
		case s.ID == "":
			return nil, fmt.Errorf("identity secret #%d: empty id", i+1)
		case len(s.Key) == 0:
			return nil, fmt.Errorf("identity secret %q: empty key", s.ID)
		case seen[s.ID]:
			return nil, fmt.Errorf("identity secret %q: duplicate id", s.ID)
		}
		seen[s.ID] = true
		v.secrets = append(v.secrets, Secret{ID: s.ID, Key: append([]byte(nil), s.Key...)})
	}
	for id, k := range rsaKeys {
		switch {
		case id == "":
			return nil, errors.New("identity rsa key: empty id")
		case k == nil || k.N == nil:
			return nil, fmt.Errorf("identity rsa key %q: nil key", id)
		case k.N.BitLen() < minRSABits:
			return nil, fmt.Errorf("identity rsa key %q: %d bits, want at least %d", id, k.N.BitLen(), minRSABits)
		case seen[id]:
			return nil, fmt.Errorf("identity rsa key %q: id also names an hmac secret", id)
		}
		seen[id] = true
		v.rsaKeys[id] = k
		v.rsaIDs = append(v.rsaIDs, id)
	}
	slices.Sort(v.rsaIDs)
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg(), jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(now),
	)
	return v, nil
}

// Sign returns the X-Crisp-User-Hash for userID: lowercase hex
// HMAC-SHA256(secret, userID).
func Sign(secret []byte, userID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks the identity headers of one request: userID is
// X-Crisp-User-Id, userHash X-Crisp-User-Hash and token
// X-Crisp-Identity-Token (either may be empty). Every presented signature
// must verify. Without a user id the token's sub is the user id; with one,
// sub must equal it.
func (v *Verifier) Verify(userID, userHash, token string) Assurance {
	switch {
	case userHash == "" && token == "":
		if userID == "" {
			return Assurance{Method: MethodNone, Reason: "no user id and no identity signature"}
		}
		return Assurance{Method: MethodNone, Reason: "no identity signature: send X-Crisp-User-Hash or X-Crisp-Identity-Token"}
	case token == "":
		return v.verifyHash(userID, userHash)
	}
	a := v.verifyToken(userID, token)
	if !a.Verified || userHash == "" {
		return a
	}
	// The token named the subject; the hash must vouch for the same one.
	if h := v.verifyHash(a.Subject, userHash); !h.Verified {
		return Assurance{Method: MethodHMAC, Reason: "identity token verified but " + h.Reason}
	}
	return a
}

// verifyHash checks an X-Crisp-User-Hash.
func (v *Verifier) verifyHash(userID, userHash string) Assurance {
	a := Assurance{Method: MethodHMAC}
	if userID == "" {
		a.Reason = "empty user id: a user hash needs X-Crisp-User-Id"
		return a
	}
	if r := hashFormatProblem(userHash); r != "" {
		a.Reason = r
		return a
	}
	if len(v.secrets) == 0 {
		a.Reason = "no identity secrets are configured"
		return a
	}
	var want, got [sha256.Size]byte
	_, _ = hex.Decode(want[:], []byte(userHash)) // format checked above
	// Compare against every secret without stopping early, so the time
	// taken does not reveal which secret (if any) matched.
	matched := -1
	for i, s := range v.secrets {
		m := hmac.New(sha256.New, s.Key)
		m.Write([]byte(userID))
		if hmac.Equal(m.Sum(got[:0]), want[:]) && matched < 0 {
			matched = i
		}
	}
	if matched < 0 {
		a.Reason = "user hash does not match any active identity secret"
		return a
	}
	a.Verified, a.Subject, a.KeyID = true, userID, v.secrets[matched].ID
	return a
}

// hashFormatProblem explains why h is not a well-formed user hash. The
// header is specified as lowercase hex, and Sign only produces lowercase, so
// uppercase is refused rather than folded: accepting two spellings of one
// signature would let tools that compare or log hashes disagree about
// whether two requests carried the same one.
func hashFormatProblem(h string) string {
	if len(h) != hex.EncodedLen(sha256.Size) {
		return fmt.Sprintf("user hash must be %d lowercase hex characters, got %d characters", hex.EncodedLen(sha256.Size), len(h))
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			return "user hash must be lowercase hex (uppercase is not accepted)"
		default:
			return "user hash must be lowercase hex (found a non-hex character)"
		}
	}
	return ""
}

// verifyToken checks an X-Crisp-Identity-Token.
func (v *Verifier) verifyToken(userID, raw string) Assurance {
	a := Assurance{Method: MethodJWT}
	if len(raw) > maxTokenLen {
		a.Reason = fmt.Sprintf("identity token is longer than %d bytes", maxTokenLen)
		return a
	}
	var keyID string
	claims := &jwt.RegisteredClaims{}
	tok, err := v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		id, key, err := v.selectKey(t)
		keyID = id
		return key, err
	})
	if err != nil {
		a.Reason = tokenReason(tok, err)
		return a
	}
	sub := claims.Subject
	switch {
	case sub == "" && userID == "":
		a.Reason = "empty user id: identity token has no sub and no X-Crisp-User-Id was sent"
		return a
	case sub == "":
		a.Reason = "identity token has no sub claim"
		return a
	case userID != "" && sub != userID:
		a.Reason = "identity token sub does not match X-Crisp-User-Id"
		return a
	}
	a.Verified, a.Subject, a.KeyID = true, sub, keyID
	if claims.IssuedAt != nil {
		a.IssuedAt = claims.IssuedAt.Time
	}
	if claims.ExpiresAt != nil { // required by the parser; checked anyway
		a.ExpiresAt = claims.ExpiresAt.Time
	}
	return a
}

// Errors from selectKey, mapped to reasons by tokenReason.
var (
	errUnknownKid  = errors.New("unknown kid")
	errBadKid      = errors.New("kid is not a string")
	errNoKeyMatch  = errors.New("no key matched")
	errNoKeys      = errors.New("no keys for algorithm")
	errAlgMismatch = errors.New("algorithm not allowed")
)

// selectKey picks the key for t by its algorithm, then by kid. The
// algorithm decides the key family first: an HS256 token can only ever be
// checked against HMAC secrets and an RS256 token only against RSA keys,
// which is what stops algorithm confusion (an RSA public key used as an
// HMAC secret). Without a kid every key of the family is tried, here, so the
// key that matched can be reported.
func (v *Verifier) selectKey(t *jwt.Token) (string, any, error) {
	kid, hasKid := t.Header["kid"]
	kidStr, ok := kid.(string)
	if hasKid && !ok {
		return "", nil, errBadKid
	}
	switch m := t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if m != jwt.SigningMethodHS256 {
			return "", nil, errAlgMismatch
		}
		if hasKid {
			for _, s := range v.secrets {
				if s.ID == kidStr {
					return s.ID, s.Key, nil
				}
			}
			return "", nil, errUnknownKid
		}
		if len(v.secrets) == 0 {
			return "", nil, errNoKeys
		}
		for _, s := range v.secrets {
			if verifySig(t, s.Key) {
				return s.ID, s.Key, nil
			}
		}
		return "", nil, errNoKeyMatch
	case *jwt.SigningMethodRSA:
		if m != jwt.SigningMethodRS256 {
			return "", nil, errAlgMismatch
		}
		if hasKid {
			if k, ok := v.rsaKeys[kidStr]; ok {
				return kidStr, k, nil
			}
			return "", nil, errUnknownKid
		}
		if len(v.rsaIDs) == 0 {
			return "", nil, errNoKeys
		}
		for _, id := range v.rsaIDs {
			if verifySig(t, v.rsaKeys[id]) {
				return id, v.rsaKeys[id], nil
			}
		}
		return "", nil, errNoKeyMatch
	}
	return "", nil, errAlgMismatch
}

// verifySig checks t's signature with key. The parser checks the chosen key
// again; the second check costs one HMAC or one RSA verify and keeps the
// library, not this helper, the final word.
func verifySig(t *jwt.Token, key any) bool {
	i := strings.LastIndexByte(t.Raw, '.')
	return i > 0 && t.Method.Verify(t.Raw[:i], t.Signature, key) == nil
}

// tokenReason turns a parse failure into a reason safe to show: it names
// the check that failed, never the token's content beyond its algorithm,
// which has already been matched against the library's known names.
func tokenReason(t *jwt.Token, err error) string {
	if t != nil && t.Method != nil {
		switch alg := t.Method.Alg(); alg {
		case jwt.SigningMethodHS256.Alg(), jwt.SigningMethodRS256.Alg():
		default:
			return fmt.Sprintf("identity token algorithm %q is not allowed (want HS256 or RS256)", alg)
		}
	}
	switch {
	case errors.Is(err, errAlgMismatch):
		return "identity token algorithm is not allowed (want HS256 or RS256)"
	case errors.Is(err, errBadKid):
		return "identity token kid must be a string"
	case errors.Is(err, errUnknownKid):
		return "identity token kid does not name an active key"
	case errors.Is(err, errNoKeys):
		return "no keys are configured for the identity token's algorithm"
	case errors.Is(err, errNoKeyMatch), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "identity token signature does not match any active key"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "identity token is malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "identity token has expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "identity token has no exp claim"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "identity token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "identity token is issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "identity token algorithm is missing or unknown"
	}
	return "identity token could not be verified"
}
