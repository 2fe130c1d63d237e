package redact

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/crisphq/crisp/catalog"
)

// Value is one field value of the customer or account in this request.
// Only Hide and Mask values are redacted; Show values are ignored.
type Value struct {
	Field      string // e.g. account.privateRevenue
	Text       string // the value as the identity store holds it
	Visibility catalog.Visibility
}

// Note says why a value is not matched as given, without the value.
type Note struct {
	Field  string
	Reason string
}

// Redactor matches one request's hidden and masked values and the enabled
// detectors. It is immutable and safe for concurrent use; per-request
// state lives in a Session.
type Redactor struct {
	values   []Value   // matchable values; Visibility may be demoted to Hide
	pats     []pattern // by automaton pattern id
	ac       *automaton
	nums     numberSet
	phones   digitSet
	det      Detectors
	notes    []Note
	byteKind [256]uint8
	simd     bool // scan whole texts from vector block masks (blocks.go)
	// Each value's field by number, so a session counts and numbers
	// placeholders in slices, not in maps keyed by name.
	fieldOf []int32 // by value index
	fields  []string
	fieldID map[string]int32
}

type pattern struct {
	val                 int32
	edgeLeft, edgeRight bool // the pattern begins / ends with a word rune
	space               bool // the pattern has a space: check the runs it spans
}

// kind is what a candidate is; the order is the tie-break between
// candidates covering the same bytes.
type kind uint8

const (
	kindHidden kind = iota
	kindMasked
	kindCard
	kindSSN
	kindIBAN
	kindPhone
	kindEmail
	kindKey
)

// String is the detector's name in markers, the manifest and config.
func (k kind) String() string {
	switch k {
	case kindHidden:
		return "hidden"
	case kindMasked:
		return "masked"
	case kindCard:
		return "card"
	case kindSSN:
		return "ssn"
	case kindIBAN:
		return "iban"
	case kindPhone:
		return "phone"
	case kindEmail:
		return "email"
	}
	return "api_key"
}

// manifestKey is the detector's key in Session.Manifest.
func (k kind) manifestKey() string {
	switch k {
	case kindCard:
		return "detector:card"
	case kindSSN:
		return "detector:ssn"
	case kindIBAN:
		return "detector:iban"
	case kindPhone:
		return "detector:phone"
	case kindEmail:
		return "detector:email"
	case kindKey:
		return "detector:api_key"
	}
	return "detector:" + k.String()
}

// keyPunct is the punctuation of key-like runs (bKey).
const keyPunct = "_-+/=.~"

// byteKind bits, per Redactor so the hot loops need no globals.
const (
	bDigit  = 1 << iota // 0-9
	bKey                // a byte of a key-like run: A-Z a-z 0-9 _ - + / = . ~
	bLocal              // an email local part byte: A-Z a-z 0-9 . _ % + -
	bDomain             // an email domain byte: A-Z a-z 0-9 . -
	bAlnum              // A-Z a-z 0-9
	bNumEnd             // ASCII that no numeric shape goes on with (see quietShort)
)

const (
	maxValueLen     = 16 << 10 // longer values are refused: the stream would hold them back whole
	minTextAlnum    = 3        // a text value needs this many letters or digits
	minNumberDigits = 4        // a number value needs this many significant digits
)

// Compile builds the redactor for a request's values: one automaton over
// the normalized text values, number and phone tables, and the enabled
// detectors. It fails on a value it cannot honour (no field name, an
// unknown visibility, an overlong text); values it decides not to match
// (too short, a common word) are listed by Notes.
func Compile(values []Value, det Detectors) (*Redactor, error) {
	r := &Redactor{det: det, fieldID: map[string]int32{}, simd: haveSIMD}
	r.initByteKinds()
	texts := map[string]int32{}
	var errs []error
	for i, v := range values {
		switch {
		case v.Field == "":
			errs = append(errs, fmt.Errorf("value %d: no field name", i))
			continue
		case v.Visibility > catalog.Show:
			errs = append(errs, fmt.Errorf("value %d (%s): unknown visibility %d", i, v.Field, v.Visibility))
			continue
		case v.Visibility == catalog.Show:
			continue
		case len(v.Text) > maxValueLen:
			errs = append(errs, fmt.Errorf("value %d (%s): %d bytes, more than %d", i, v.Field, len(v.Text), maxValueLen))
			continue
		}
		idx := int32(len(r.values))
		r.values = append(r.values, v)
		r.fileField(v.Field)
		if reason := r.addValue(v, idx, texts); reason != "" {
			r.notes = append(r.notes, Note{Field: v.Field, Reason: reason})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("redact: compile: %w", errors.Join(errs...))
	}
	r.buildAutomaton(texts)
	r.demoteMasked()
	return r, nil
}

// fileField numbers the field of the value just added.
func (r *Redactor) fileField(f string) {
	id, ok := r.fieldID[f]
	if !ok {
		id = int32(len(r.fields))
		r.fields = append(r.fields, f)
		r.fieldID[f] = id
	}
	r.fieldOf = append(r.fieldOf, id)
}

// addValue files a value under the matcher its shape calls for and
// returns why it is not matched, if it is not.
func (r *Redactor) addValue(v Value, idx int32, texts map[string]int32) string {
	text := strings.TrimSpace(v.Text)
	if text == "" {
		return "empty value: nothing to match"
	}
	canon, isNum := numberCanon(text)
	digits, isPhone := phoneDigits(text)
	if isNum && digitCount(canon) >= minNumberDigits {
		r.nums.add(canon, idx, r.values)
	}
	if isPhone {
		r.phones.add(digits, idx, r.values)
	}
	switch {
	case isNum && digitCount(canon) < minNumberDigits && !isPhone:
		return fmt.Sprintf("number with fewer than %d significant digits: not matched", minNumberDigits)
	case isNum || isPhone:
		return ""
	}
	norm := normalize(text)
	alnum := 0
	for _, c := range norm {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			alnum++
		}
	}
	switch {
	case alnum < minTextAlnum:
		return fmt.Sprintf("fewer than %d letters or digits: not matched", minTextAlnum)
	case !strings.Contains(norm, " ") && commonWord(norm):
		return "common word: not matched (a marker in its place would reveal it)"
	}
	putPriority(texts, norm, idx, r.values)
	return ""
}

// putPriority keeps one value per key: hidden wins over masked, then the
// first one given.
func putPriority(m map[string]int32, key string, idx int32, values []Value) {
	old, ok := m[key]
	if !ok || values[old].Visibility != catalog.Hide && values[idx].Visibility == catalog.Hide {
		m[key] = idx
	}
}

func (r *Redactor) buildAutomaton(texts map[string]int32) {
	if len(texts) == 0 {
		return
	}
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r.pats = make([]pattern, len(keys))
	for i, k := range keys {
		first, _ := firstRune(k)
		last, _ := lastRune(k)
		r.pats[i] = pattern{val: texts[k], edgeLeft: wordRune(first), edgeRight: wordRune(last), space: strings.Contains(k, " ")}
	}
	r.ac = buildAutomaton(keys)
}

// demoteMasked treats a masked value as hidden when a hidden value occurs
// inside it: restoring its placeholder would otherwise reveal the hidden
// one.
func (r *Redactor) demoteMasked() {
	for i, v := range r.values {
		if v.Visibility != catalog.Mask || !r.hiddenInside(v.Text) {
			continue
		}
		r.values[i].Visibility = catalog.Hide
		r.notes = append(r.notes, Note{Field: v.Field, Reason: "contains a hidden value: redacted as hidden, never restored"})
	}
}

func (r *Redactor) hiddenInside(text string) bool {
	e := newEngine(r, nil, nil)
	e.det = Detectors{}
	e.buf, e.final = []byte(text), true
	e.scan()
	for _, c := range e.cands {
		if c.kind == kindHidden {
			return true
		}
	}
	return false
}

// Notes lists the values that are not matched as given, and why.
func (r *Redactor) Notes() []Note { return slices.Clone(r.notes) }

// Detectors returns the detectors this redactor runs.
func (r *Redactor) Detectors() Detectors { return r.det }

// NewSession starts the state of one request and its answer.
func (r *Redactor) NewSession() *Session {
	return &Session{r: r}
}

// idle reports a redactor with nothing to look for.
func (r *Redactor) idle() bool {
	return r.ac == nil && !r.numeric(r.det) && !r.det.APIKey && !r.det.Email
}

func (r *Redactor) numeric(d Detectors) bool {
	return !r.nums.empty() || !r.phones.empty() || d.Card || d.Phone || d.SSN || d.IBAN
}

func (r *Redactor) initByteKinds() {
	for b := range 256 {
		c := byte(b)
		var k uint8
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if c >= '0' && c <= '9' {
			k |= bDigit
		}
		if alnum {
			k |= bAlnum | bKey | bLocal | bDomain
		}
		if strings.IndexByte(keyPunct, c) >= 0 {
			k |= bKey
		}
		if strings.IndexByte("._%+-", c) >= 0 {
			k |= bLocal
		}
		if c == '.' || c == '-' {
			k |= bDomain
		}
		// Not a digit, a group, decimal or phone separator, nor the
		// first letter of a compact suffix (k, m, b, thousand).
		if c < 0x80 && !isDigit(c) && strings.IndexByte(",.' -()/kmbtKMBT", c) < 0 {
			k |= bNumEnd
		}
		r.byteKind[b] = k
	}
}

func firstRune(s string) (rune, bool) {
	for _, c := range s {
		return c, true
	}
	return 0, false
}

func lastRune(s string) (rune, bool) {
	r, ok := runeBefore([]byte(s), len(s))
	return r, ok
}
