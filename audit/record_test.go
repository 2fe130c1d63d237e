package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCanonicalSorted checks the hand-written encoder against the struct:
// every JSON member present, keys sorted at every level, and the same bytes
// encoding/json gives for the decoded object (maps sort their keys).
func TestCanonicalSorted(t *testing.T) {
	r := useRecord("acme", "maya@acme.example", "usr_2481")
	r.ID, r.Seq, r.Time, r.PrevHash, r.Hash, r.Stream, r.Target = "aud_1", 7, t0, "ab", "cd", true, "key_x"
	out, err := json.Marshal(r)
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(out, &m))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	must(t, enc.Encode(m))
	if got := strings.TrimSuffix(buf.String(), "\n"); got != string(out) {
		t.Errorf("canonical form is not sorted JSON:\n got %s\nwant %s", out, got)
	}
	var want []string
	for f := range reflect.TypeFor[Record]().Fields() {
		want = append(want, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(want)
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Errorf("canonical members %v\nwant the struct's %v", keys, want)
	}
	if bytes.Contains(r.Canonical(), []byte(`"hash"`)) {
		t.Error(`the hashed body contains "hash"`)
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"zero", 0, "0"},
		{"whole", 812, "812"},
		{"fraction", 812.25, "812.25"},
		{"rounded to microseconds", 1.23456789, "1.235"},
		{"tiny", 1e-9, "0"},
		{"negative", -5, "0"},
		{"huge", 1e300, "1000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendMillis(nil, tt.in)); got != tt.want {
				t.Errorf("appendMillis(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestMillisShortest checks the integer formatting against the float
// formatter every stored hash was computed with.
func TestMillisShortest(t *testing.T) {
	vals := []float64{0, 0.001, 0.01, 0.1, 0.999, 1, 1.0005, 2.675, 12.5, 999.9995, 1234.567, 86400000.123, 1e12 + 0.5, 1e15}
	for i := range 20000 {
		vals = append(vals, float64(i)*0.0137, float64(i*i)/7, math.Ldexp(float64(i), -i%40))
	}
	for _, v := range vals {
		want := strconv.AppendFloat(nil, roundMillis(v), 'f', -1, 64)
		if got := appendMillis(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("appendMillis(%v) = %s, want %s", v, got, want)
		}
	}
}

// TestAppendTime checks the hand-written layout against AppendFormat, the
// form every stored hash was computed over.
func TestAppendTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []time.Time{
		time.Date(2026, 11, 26, 17, 54, 39, 123456789, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6000, paris), // converted to UTC, day before
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // outside the layout: slow path
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for i := range 200 { // a spread of microsecond and second values
		tests = append(tests, time.Unix(1_700_000_000+int64(i)*7919, int64(i)*4_999_999))
	}
	for _, tm := range tests {
		want := `"` + tm.UTC().Truncate(time.Microsecond).Format(timeLayout) + `"`
		if got := string(appendTime(nil, tm)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestCompareUTF16 pins JCS key order where it differs from byte order.
func TestCompareUTF16(t *testing.T) {
	keys := []string{"\uffff", "😀", "b", "a"}
	slices.SortFunc(keys, compareUTF16)
	if want := []string{"a", "b", "😀", "\uffff"}; !slices.Equal(keys, want) {
		t.Errorf("sorted %q, want %q", keys, want)
	}
}

func TestSealMatchesCanonical(t *testing.T) {
	r := useRecord("acme", "maya@acme.example", "usr_2481")
	r.ID, r.Time = "aud_1", t0
	s := newSealer(&r)
	out, hash := s.seal([]byte("prefix"), 42, "00ff")
	body, ok := strings.CutPrefix(string(out), "prefix")
	r.Seq, r.PrevHash = 42, "00ff"
	if !ok || body != string(r.Canonical()) {
		t.Errorf("sealed body\n%s\nwant\n%s", body, r.Canonical())
	}
	if hash != r.ComputeHash() || len(hash) != 64 {
		t.Errorf("hash %s, want %s", hash, r.ComputeHash())
	}
}

func TestIDTime(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 30, 1, 234567000, time.UTC)
	if got, ok := idTime(newID("aud_", at)); !ok || !got.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("idTime(newID(%v)) = %v, %v", at, got, ok)
	}
	for _, id := range []string{"aud_0001", "aud_", "", "aud_ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "aud_01JQ8XIZ3K4M5N6P7Q8R9S0T1V"} {
		if _, ok := idTime(id); ok {
			t.Errorf("idTime(%q) ok, want not an id of newID's", id)
		}
	}
}

func TestNewID(t *testing.T) {
	a, b := newID("aud_", t0), newID("aud_", t0.Add(time.Millisecond))
	if !regexp.MustCompile(`^aud_[0-9A-HJKMNP-TV-Z]{26}$`).MatchString(a) {
		t.Errorf("id %q is not aud_ and a ULID", a)
	}
	if a >= b {
		t.Errorf("ids do not sort by time: %s >= %s", a, b)
	}
	if a == newID("aud_", t0) {
		t.Errorf("two ids in one millisecond collide")
	}
}

// FuzzCanonical checks that any strings give a body that decodes and
// re-encodes to the same bytes, which is what Verify relies on.
func FuzzCanonical(f *testing.F) {
	f.Add("maya@acme.example", "usr_2481", "account.privateRevenue", 812.25)
	f.Add("\x00\"\\\u2028", "\xff", "😀", 1e-7)
	f.Fuzz(func(t *testing.T, member, customer, field string, latency float64) {
		r := Record{Kind: KindAIUse, Workspace: "acme", Member: member, CustomerID: customer,
			Redactions: map[string]int{field: 1}, ContextFields: []string{field}, LatencyMS: latency, Time: t0}
		body := r.Canonical()
		var back Record
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatalf("body does not decode: %v\n%s", err, body)
		}
		if again := back.Canonical(); !bytes.Equal(again, body) {
			t.Fatalf("not stable:\n%s\n%s", body, again)
		}
	})
}
