package redact

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Detectors says which detectors run for a workspace. The zero value runs
// none; DefaultDetectors runs all.
type Detectors struct {
	Email, Phone, Card, IBAN, APIKey, SSN bool
}

// DefaultDetectors turns every detector on.
func DefaultDetectors() Detectors {
	return Detectors{Email: true, Phone: true, Card: true, IBAN: true, APIKey: true, SSN: true}
}

// ParseDetectors builds Detectors from config names: email, phone, card,
// iban, api_key, ssn, or all. No names means none; an unknown name is an
// error.
func ParseDetectors(names ...string) (Detectors, error) {
	var d Detectors
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "email":
			d.Email = true
		case "phone":
			d.Phone = true
		case "card":
			d.Card = true
		case "iban":
			d.IBAN = true
		case "api_key":
			d.APIKey = true
		case "ssn":
			d.SSN = true
		case "all":
			d = DefaultDetectors()
		default:
			return Detectors{}, fmt.Errorf("redact: unknown detector %q (want email, phone, card, iban, api_key, ssn or all)", n)
		}
	}
	return d, nil
}

// Names lists the detectors that are on, in config spelling.
func (d Detectors) Names() []string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{d.Email, "email"}, {d.Phone, "phone"}, {d.Card, "card"}, {d.IBAN, "iban"}, {d.APIKey, "api_key"}, {d.SSN, "ssn"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

// Session is the state of one request and its answer: the placeholder of
// each masked value (the same value gets the same placeholder throughout)
// and the manifest of what was redacted. Its methods are safe for
// concurrent use; a Stream is not.
type Session struct {
	r  *Redactor
	mu sync.Mutex
	// By field number (Redactor.fields), allocated when first needed: a
	// session meets few of its values, and most texts none.
	byField []fieldState
	kindN   [kindKey + 1]int
	// fieldBuf holds byField for redactors of a few fields (most), so a
	// session's first redaction allocates no field state.
	fieldBuf [8]fieldState
}

type fieldState struct {
	count  int     // redactions
	masked []int32 // masked values in the order of their Ns
	// index finds a value's N once masked is too long to search; most
	// sessions meet a few values of a field and never build it.
	index map[int32]int32
	first [2]int32 // masked's first backing array
}

// phLinear is how many masked values of a field are searched in order.
const phLinear = 8

// number returns the N of masked value val, issuing the next one on
// first use.
func (st *fieldState) number(val int32) int32 {
	if st.index != nil {
		if n, ok := st.index[val]; ok {
			return n
		}
	} else {
		for i, v := range st.masked {
			if v == val {
				return int32(i + 1)
			}
		}
	}
	if st.masked == nil {
		st.masked = st.first[:0]
	}
	st.masked = append(st.masked, val)
	n := int32(len(st.masked))
	switch {
	case st.index != nil:
		st.index[val] = n
	case n > phLinear:
		st.index = make(map[int32]int32, 2*n)
		for i, v := range st.masked {
			st.index[v] = int32(i + 1)
		}
	}
	return n
}

// Text redacts a whole string: hidden values become [hidden:FIELD],
// detector matches [hidden:KIND], masked values their placeholder. It
// returns s itself when nothing matched.
func (s *Session) Text(t string) string {
	// The engine only reads the bytes of t and never keeps them, so they
	// are not copied (a 256 KB prompt would otherwise cost a copy).
	out, changed := s.redact(unsafe.Slice(unsafe.StringData(t), len(t)))
	if !changed {
		return t
	}
	// out is the engine's own, sized once (outCap) and referenced by
	// nothing else: it becomes the string without a second copy.
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// redact runs the engine over a whole text; out is valid only if changed.
func (s *Session) redact(b []byte) (out []byte, changed bool) {
	if s.r.idle() {
		return nil, false
	}
	e := newEngine(s.r, s, nil)
	e.buf, e.final, e.deferOut = b, true, true
	// One allocation for the first matches of both kinds: most texts of
	// some length have a few (numbers and the like that the detectors look
	// at twice). Short ones, such as most strings of a JSON body, have none.
	if len(b) >= 128 {
		c := make([]cand, 0, 16)
		e.acWait, e.cands = c[:0:4], c[4:4]
	}
	e.run()
	return e.out, !e.deferOut
}

// Restore turns the placeholders in s back into their values where
// mayReveal allows the field; nil allows none. Hidden values have no
// placeholder and never come back. For a whole answer, restore what Text
// returned: Restore(Text(answer), mayReveal).
func (s *Session) Restore(t string, mayReveal func(field string) bool) string {
	rs := restorer{s: s, reveal: mayReveal}
	return rs.write([]byte(t), true)
}

// Answer redacts and restores a whole answer, exactly as a Stream of it
// would: hidden values and detector matches are redacted, masked values
// and their placeholders reach the caller as values where mayReveal
// allows.
func (s *Session) Answer(t string, mayReveal func(field string) bool) string {
	st := s.Stream(mayReveal)
	return st.Write(t) + st.Flush()
}

// Manifest counts the redactions of this session per field name and per
// detector ("detector:email"); it never holds a value.
func (s *Session) Manifest() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m map[string]int
	add := func(key string, n int) {
		if n > 0 {
			if m == nil {
				m = map[string]int{}
			}
			m[key] += n
		}
	}
	for f, st := range s.byField {
		add(s.r.fields[f], st.count)
	}
	for k, n := range s.kindN {
		if n > 0 { // the key is built only for a kind that was met
			add(kind(k).manifestKey(), n)
		}
	}
	return m
}

// field is the state of the field of value val; the caller holds mu.
func (s *Session) field(val int32) *fieldState {
	if s.byField == nil {
		if n := len(s.r.fields); n <= len(s.fieldBuf) {
			s.byField = s.fieldBuf[:n]
		} else {
			s.byField = make([]fieldState, n)
		}
	}
	return &s.byField[s.r.fieldOf[val]]
}

// hidden appends the marker of a hidden value.
func (s *Session) hidden(out []byte, val int32) []byte {
	s.mu.Lock()
	s.field(val).count++
	s.mu.Unlock()
	return append(append(append(out, "[hidden:"...), s.r.values[val].Field...), ']')
}

// detected appends the marker of a detector match.
func (s *Session) detected(out []byte, k kind) []byte {
	s.mu.Lock()
	s.kindN[k]++
	s.mu.Unlock()
	return append(append(append(out, "[hidden:"...), k.String()...), ']')
}

// placeholder appends the placeholder of a masked value, issuing it on
// first use: [masked:FIELD#N], N counting the field's distinct values.
func (s *Session) placeholder(out []byte, val int32) []byte {
	s.mu.Lock()
	st := s.field(val)
	n := st.number(val)
	st.count++
	s.mu.Unlock()
	out = append(append(append(out, phPrefix...), s.r.values[val].Field...), '#')
	return append(strconv.AppendInt(out, int64(n), 10), ']')
}

// restore appends the value of placeholder ph if the member may see it,
// else ph itself.
func (s *Session) restore(out, ph []byte, reveal func(string) bool) []byte {
	if val, ok := s.issuedAs(ph); ok && reveal != nil {
		if v := s.r.values[val]; reveal(v.Field) {
			return append(out, v.Text...)
		}
	}
	return append(out, ph...)
}

// issuedAs finds the value whose placeholder is ph, a whole placeholder as
// placeholderAt reads it. An N written otherwise than it is issued (with a
// leading zero) is no placeholder of this session.
func (s *Session) issuedAs(ph []byte) (int32, bool) {
	hash := bytes.LastIndexByte(ph, '#')
	digits := ph[hash+1 : len(ph)-1]
	if digits[0] == '0' {
		return 0, false
	}
	f, ok := s.r.fieldID[string(ph[len(phPrefix):hash])]
	if !ok {
		return 0, false
	}
	n := 0
	for _, d := range digits {
		n = n*10 + int(d-'0')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byField == nil || n > len(s.byField[f].masked) {
		return 0, false
	}
	return s.byField[f].masked[n-1], true
}

// Stream redacts an answer delta by delta. mayReveal says which masked
// fields the member may see: their placeholders, and their values written
// out by the model, reach the caller as values; nil reveals none.
func (s *Session) Stream(mayReveal func(field string) bool) *Stream {
	return &Stream{e: newEngine(s.r, s, mayReveal), rs: restorer{s: s, reveal: mayReveal}}
}

// Stream is the streaming redactor of one answer. It is not safe for
// concurrent use.
type Stream struct {
	e    *engine
	rs   restorer
	done bool
}

// Write takes the next delta and returns what is safe to send now: all of
// the text so far except the shortest suffix that could still become a
// match. Write after Flush panics: that text would have no check.
func (st *Stream) Write(chunk string) string {
	if st.done {
		panic("redact: Stream.Write after Flush")
	}
	e := st.e
	e.buf = append(e.buf, chunk...)
	e.run()
	e.compact()
	out := st.rs.write(e.out, false)
	e.out = e.out[:0]
	return out
}

// Flush ends the answer and returns the rest, checked as end of text.
func (st *Stream) Flush() string {
	if st.done {
		return ""
	}
	st.done = true
	e := st.e
	e.final = true
	e.run()
	out := st.rs.write(e.out, true)
	e.buf, e.out, e.cands, e.acWait = nil, nil, nil, nil
	return out
}

// Held is how many bytes of the answer have arrived and not been returned.
func (st *Stream) Held() int { return st.e.held() + len(st.rs.buf) }

// restorer replaces placeholders in the redacted answer, holding back a
// '[' that may still become one.
type restorer struct {
	s      *Session
	reveal func(string) bool
	buf    []byte
}

func (rs *restorer) write(in []byte, final bool) string {
	if len(rs.buf) == 0 && bytes.IndexByte(in, '[') < 0 {
		return string(in)
	}
	rs.buf = append(rs.buf, in...)
	b := rs.buf
	out := make([]byte, 0, len(b))
	i := 0
	for {
		k := bytes.IndexByte(b[i:], '[')
		if k < 0 {
			out = append(out, b[i:]...)
			i = len(b)
			break
		}
		p := i + k
		out = append(out, b[i:p]...)
		end, st := placeholderAt(b, p)
		if st == phPartial && !final {
			i = p
			break
		}
		if st != phFull {
			out = append(out, '[')
			i = p + 1
			continue
		}
		out = rs.s.restore(out, b[p:end], rs.reveal)
		i = end
	}
	rs.buf = rs.buf[:copy(rs.buf, b[i:])]
	return string(out)
}

type phState uint8

const (
	phNone phState = iota
	phPartial
	phFull
)

const (
	phPrefix   = "[masked:"
	maxPhField = 100
	maxPhNum   = 6
)

// placeholderAt reads [masked:FIELD#N] at p.
func placeholderAt(b []byte, p int) (int, phState) {
	for k := range len(phPrefix) {
		if p+k == len(b) {
			return 0, phPartial
		}
		if b[p+k] != phPrefix[k] {
			return 0, phNone
		}
	}
	j := p + len(phPrefix)
	fs := j
	for j < len(b) && j-fs <= maxPhField && fieldByte(b[j]) {
		j++
	}
	switch {
	case j-fs > maxPhField:
		return 0, phNone
	case j == len(b):
		return 0, phPartial
	case j == fs || b[j] != '#':
		return 0, phNone
	}
	j++
	ds := j
	for j < len(b) && j-ds <= maxPhNum && isDigit(b[j]) {
		j++
	}
	switch {
	case j-ds > maxPhNum:
		return 0, phNone
	case j == len(b):
		return 0, phPartial
	case j == ds || b[j] != ']':
		return 0, phNone
	}
	return j + 1, phFull
}

func fieldByte(b byte) bool {
	return b|0x20 >= 'a' && b|0x20 <= 'z' || isDigit(b) || b == '_' || b == '.' || b == '-'
}
