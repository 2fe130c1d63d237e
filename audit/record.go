package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/crisphq/crisp/internal/jsonstr"
)

// Record kinds.
const (
	KindAIUse        = "ai.use"        // proxy request, draft, MCP tool call, context API read
	KindAdminKey     = "admin.key"     // a crisp key created, changed or revoked
	KindAdminCatalog = "admin.catalog" // the catalog changed
	KindAdminPolicy  = "admin.policy"  // a policy changed
)

// ErrorInterrupted is the error_code of a use whose outcome never arrived:
// its writer stopped (crash, kill) between Begin and Finish.
const ErrorInterrupted = "interrupted"

// recordBufSize fits a typical AI-use record (1–1.5 KB with its context
// fields and redaction counts) in one allocation.
const recordBufSize = 2048

// Record is one audit record. It holds metadata and hashes only, never a
// value from a request or an answer. JSON encoding is the canonical form
// (see the package doc); decoding is the ordinary one.
type Record struct {
	ID        string    `json:"id"`
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"` // when the use began
	Kind      string    `json:"kind"`
	Workspace string    `json:"workspace"`
	RequestID string    `json:"request_id"`
	Endpoint  string    `json:"endpoint"` // e.g. /v1/chat/completions, mcp:get_context
	Stream    bool      `json:"stream"`

	// Who asked.
	KeyID  string `json:"key_id"`
	Member string `json:"member"`
	Role   string `json:"role"`

	// What about whom.
	Action     string   `json:"action"`
	CustomerID string   `json:"customer_id"`
	AccountID  string   `json:"account_id"`
	Identity   Identity `json:"identity"`
	// Target names what an admin change touched (a key id, catalog.yaml, a
	// policy file).
	Target string `json:"target"`

	Decision       Decision `json:"decision"`
	CatalogVersion string   `json:"catalog_version"`
	// ContextFields are the names of the context fields attached.
	ContextFields []string `json:"context_fields"`
	// Redactions counts redactions by field name or detector kind.
	Redactions map[string]int `json:"redactions"`

	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Flags lists the provider fields crisp forced on this request;
	// Contractual is what only the provider's terms guarantee.
	Flags       []string `json:"flags"`
	Contractual string   `json:"contractual"`

	// Status is the HTTP status returned (499 when the client left, 0 when
	// interrupted); ErrorCode is crisp's error code, "" on success.
	Status    int     `json:"status"`
	ErrorCode string  `json:"error_code"`
	Usage     Usage   `json:"usage"`
	LatencyMS float64 `json:"latency_ms"`
	TTFTMS    float64 `json:"ttft_ms"`

	// RequestSHA256 is the hex sha256 of the exact body sent upstream;
	// ResponseSHA256 of the answer returned to the caller.
	RequestSHA256  string `json:"request_sha256"`
	ResponseSHA256 string `json:"response_sha256"`

	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Identity is how well the customer's identity was proven.
type Identity struct {
	Verified bool   `json:"verified"`
	Method   string `json:"method"` // hmac, jwt, none
	KeyID    string `json:"key_id"` // the identity secret or key that verified it
}

// Decision is the policy's verdict.
type Decision struct {
	Allow         bool   `json:"allow"`
	Rule          string `json:"rule"`
	Location      string `json:"location"`       // policies/FILE.rules:LINE
	PolicyVersion string `json:"policy_version"` // hash of the policy set
}

// Usage is the token count the provider reported (streamed usage too).
type Usage struct {
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
}

// decisionColumn is the value of the decision filter column.
func (r *Record) decisionColumn() string {
	if r.Kind != KindAIUse {
		return ""
	}
	if r.Decision.Allow {
		return "allow"
	}
	return "deny"
}

// MarshalJSON writes the canonical form, hash included.
func (r Record) MarshalJSON() ([]byte, error) {
	b, _, _ := appendRecord(make([]byte, 0, recordBufSize), &r, true)
	return b, nil
}

// Canonical returns the canonical JSON body the hash covers (no "hash").
func (r *Record) Canonical() []byte {
	b, _, _ := appendRecord(make([]byte, 0, recordBufSize), r, false)
	return b
}

// ComputeHash returns the hash r should carry given its PrevHash.
func (r *Record) ComputeHash() string {
	return chainHash(r.PrevHash, r.Canonical())
}

func chainHash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return HexSum(&sum)
}

// HexSum is a sha256 sum as the audit writes it: 64 lowercase hex digits.
// It allocates only the string.
func HexSum(sum *[sha256.Size]byte) string {
	var b [2 * sha256.Size]byte
	hex.Encode(b[:], sum[:])
	return string(b[:])
}

// sealer is a record encoded once, off the writer's path, with holes for
// the two values only the chain knows: prev_hash and seq.
type sealer struct {
	body   []byte
	prevAt int // offset inside the quotes of "prev_hash"
	seqAt  int // offset of the seq digit "0"
	// buf is body's pooled buffer, for release once the record is
	// committed.
	buf *[]byte
}

func newSealer(r *Record) sealer {
	c := *r
	c.PrevHash, c.Seq = "", 0
	buf := sealScratch.Get().(*[]byte)
	b, prevAt, seqAt := appendRecord((*buf)[:0], &c, false)
	*buf = b
	return sealer{body: b, prevAt: prevAt, seqAt: seqAt, buf: buf}
}

// release returns the body's buffer to the pool: the record is committed
// (or given up) and no seal may follow.
func (s *sealer) release() {
	if s.buf != nil && cap(*s.buf) <= 16<<10 {
		sealScratch.Put(s.buf)
	}
	s.buf, s.body = nil, nil
}

// sealScratch holds the buffers records are encoded into. A record waits
// in the writer's queue in one, which goes back once it is committed; a
// journaled one gives it back at once and waits in the journal's mapping
// (chainJournaled).
var sealScratch = sync.Pool{New: func() any { b := make([]byte, 0, recordBufSize); return &b }}

// seal appends the canonical body at (seq, prev) to dst and returns it
// with the body's chain hash.
func (s sealer) seal(dst []byte, seq int64, prev string) ([]byte, string) {
	start := len(dst)
	dst = append(dst, s.body[:s.prevAt]...)
	dst = append(dst, prev...)
	dst = append(dst, s.body[s.prevAt:s.seqAt]...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, s.body[s.seqAt+1:]...)
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write(dst[start:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return dst, HexSum(&sum)
}

// appendRecord writes r's canonical JSON, members in sorted key order, and
// reports where the prev_hash value starts (inside its quotes) and where the
// seq value starts. Keep the member order sorted: TestCanonicalSorted checks.
func appendRecord(b []byte, r *Record, withHash bool) ([]byte, int, int) {
	b = append(b, `{"account_id":`...)
	b = jsonstr.Append(b, r.AccountID)
	b = append(b, `,"action":`...)
	b = jsonstr.Append(b, r.Action)
	b = append(b, `,"catalog_version":`...)
	b = jsonstr.Append(b, r.CatalogVersion)
	b = append(b, `,"context_fields":`...)
	b = appendList(b, r.ContextFields)
	b = append(b, `,"contractual":`...)
	b = jsonstr.Append(b, r.Contractual)
	b = append(b, `,"customer_id":`...)
	b = jsonstr.Append(b, r.CustomerID)
	b = append(b, `,"decision":{"allow":`...)
	b = strconv.AppendBool(b, r.Decision.Allow)
	b = append(b, `,"location":`...)
	b = jsonstr.Append(b, r.Decision.Location)
	b = append(b, `,"policy_version":`...)
	b = jsonstr.Append(b, r.Decision.PolicyVersion)
	b = append(b, `,"rule":`...)
	b = jsonstr.Append(b, r.Decision.Rule)
	b = append(b, '}')
	b = append(b, `,"endpoint":`...)
	b = jsonstr.Append(b, r.Endpoint)
	b = append(b, `,"error_code":`...)
	b = jsonstr.Append(b, r.ErrorCode)
	b = append(b, `,"flags":`...)
	b = appendList(b, r.Flags)
	if withHash {
		b = append(b, `,"hash":`...)
		b = jsonstr.Append(b, r.Hash)
	}
	b = append(b, `,"id":`...)
	b = jsonstr.Append(b, r.ID)
	b = append(b, `,"identity":{"key_id":`...)
	b = jsonstr.Append(b, r.Identity.KeyID)
	b = append(b, `,"method":`...)
	b = jsonstr.Append(b, r.Identity.Method)
	b = append(b, `,"verified":`...)
	b = strconv.AppendBool(b, r.Identity.Verified)
	b = append(b, '}')
	b = append(b, `,"key_id":`...)
	b = jsonstr.Append(b, r.KeyID)
	b = append(b, `,"kind":`...)
	b = jsonstr.Append(b, r.Kind)
	b = append(b, `,"latency_ms":`...)
	b = appendMillis(b, r.LatencyMS)
	b = append(b, `,"member":`...)
	b = jsonstr.Append(b, r.Member)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, r.Model)
	b = append(b, `,"prev_hash":`...)
	prevAt := len(b) + 1
	b = jsonstr.Append(b, r.PrevHash)
	b = append(b, `,"provider":`...)
	b = jsonstr.Append(b, r.Provider)
	b = append(b, `,"redactions":`...)
	b = appendCounts(b, r.Redactions)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, r.RequestID)
	b = append(b, `,"request_sha256":`...)
	b = jsonstr.Append(b, r.RequestSHA256)
	b = append(b, `,"response_sha256":`...)
	b = jsonstr.Append(b, r.ResponseSHA256)
	b = append(b, `,"role":`...)
	b = jsonstr.Append(b, r.Role)
	b = append(b, `,"seq":`...)
	seqAt := len(b)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"stream":`...)
	b = strconv.AppendBool(b, r.Stream)
	b = append(b, `,"target":`...)
	b = jsonstr.Append(b, r.Target)
	b = append(b, `,"time":`...)
	b = appendTime(b, r.Time)
	b = append(b, `,"ttft_ms":`...)
	b = appendMillis(b, r.TTFTMS)
	b = append(b, `,"usage":{"input":`...)
	b = strconv.AppendInt(b, r.Usage.Input, 10)
	b = append(b, `,"output":`...)
	b = strconv.AppendInt(b, r.Usage.Output, 10)
	b = append(b, '}')
	b = append(b, `,"workspace":`...)
	b = jsonstr.Append(b, r.Workspace)
	return append(b, '}'), prevAt, seqAt
}

const timeLayout = "2006-01-02T15:04:05.000000Z"

// appendTime writes t as a quoted timeLayout string. It is on every
// request's path twice, so the fixed layout is written by hand (what
// AppendFormat would write: TestAppendTime checks), and years outside
// 0000–9999, which that layout cannot hold, go the slow way.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = t.Truncate(time.Microsecond).AppendFormat(b, timeLayout)
		return append(b, '"')
	}
	hour, minute, sec := t.Clock()
	us := t.Nanosecond() / 1000
	b = append(b, '"')
	b = append4(b, year)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	b = append(b, '.')
	b = append2(b, us/10000)
	b = append2(b, us/100%100)
	b = append2(b, us%100)
	return append(b, 'Z', '"')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
func append4(b []byte, v int) []byte { return append2(append2(b, v/100), v%100) }

func formatTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeLayout) }

// roundMillis keeps microsecond precision and drops what JCS cannot write
// the way Go does (NaN, infinities, exponent forms).
func roundMillis(v float64) float64 {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	v = math.Round(v*1000) / 1000
	return min(v, 1e15)
}

// appendMillis writes roundMillis(v) as the shortest decimal, as
// strconv.AppendFloat(…, 'f', -1, 64) does (TestMillisShortest checks), but
// from whole microseconds: it is on every request's path four times, and
// the general float formatter cost more than the rest of the record.
func appendMillis(b []byte, v float64) []byte {
	us := int64(math.Round(roundMillis(v) * 1000))
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	return append(append(b, '.'), digits[:n]...)
}

func appendList(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, s)
	}
	return append(b, ']')
}

func appendCounts(b []byte, m map[string]int) []byte {
	var small [8]string // most records count a few kinds: no allocation
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(m[k]), 10)
	}
	return append(b, '}')
}

// compareUTF16 orders strings by UTF-16 code units, as JCS sorts keys. It
// differs from byte order only between U+E000–U+FFFF and astral characters.
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		switch {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validate checks what every record needs before it is queued.
func (r *Record) validate() error {
	switch {
	case r.Workspace == "":
		return fmt.Errorf("%w: record without a workspace", ErrInvalid)
	case r.Kind == "":
		return fmt.Errorf("%w: record without a kind", ErrInvalid)
	}
	return nil
}
