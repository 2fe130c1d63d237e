package segment

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Message types. Page and screen calls are stored as track events; alias
// calls are accepted and ignored (crisp does not merge identities).
const (
	typeIdentify = "identify"
	typeGroup    = "group"
	typeTrack    = "track"
	typePage     = "page"
	typeScreen   = "screen"
	typeAlias    = "alias"
)

// maxIDLen bounds ids and event names, so a runaway client cannot fill the
// store's keys with megabytes.
const maxIDLen = 512

// message is one validated Segment message, normalised to what crisp stores.
type message struct {
	typ       string // identify, group or track; "" when there is nothing to store
	id        string // messageId, or a content hash when the source sent none
	userID    string
	groupID   string
	event     string
	traits    map[string]any
	props     map[string]any
	role      string // group: the user's role in the account (context.traits.role)
	accountID string // track: the account it happened in (context.groupId)
	at        time.Time
}

// clock places messages in time.
type clock struct {
	received time.Time
	sentAt   time.Time // the batch's sentAt; zero when absent
	// skew applies Segment's clock-skew correction: a message's timestamp
	// moves by receivedAt - sentAt, so a device whose clock is off still
	// orders its writes right. Files are history, not live devices: no skew.
	skew bool
}

// place returns when a message happened.
func (c clock) place(ts, sentAt time.Time) time.Time {
	if sentAt.IsZero() {
		sentAt = c.sentAt
	}
	switch {
	case ts.IsZero():
		return c.received
	case c.skew && !sentAt.IsZero():
		return ts.Add(c.received.Sub(sentAt))
	}
	return ts
}

// wireMessage is a message as Segment's HTTP API and SDKs send it. Fields
// crisp does not use (integrations, channel, most of context) are ignored.
type wireMessage struct {
	Type              string         `json:"type"`
	MessageID         flexString     `json:"messageId"`
	UserID            flexString     `json:"userId"`
	AnonymousID       flexString     `json:"anonymousId"`
	GroupID           flexString     `json:"groupId"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	Traits            map[string]any `json:"traits"`
	Properties        map[string]any `json:"properties"`
	Context           wireContext    `json:"context"`
	Timestamp         string         `json:"timestamp"`
	OriginalTimestamp string         `json:"originalTimestamp"`
	SentAt            string         `json:"sentAt"`
}

type wireContext struct {
	Traits  map[string]any `json:"traits"`
	GroupID flexString     `json:"groupId"`
}

// flexString accepts a JSON string or number, as Segment does for ids
// (analytics.js sends numeric user ids as numbers). Anything else is
// remembered as bad, so the error can name the field.
type flexString struct {
	s   string
	bad bool
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
	case b[0] == '"':
		return json.Unmarshal(b, &f.s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		f.s = string(b)
	default:
		f.bad = true
	}
	return nil
}

// parseMessage decodes and validates one message. typ is the type the
// endpoint implies ("" for batch items and files, where each message says).
// A problem comes back as a sentence without a location; the caller adds it.
func parseMessage(raw []byte, typ string, c clock) (message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return message{}, errors.New("must be a JSON object")
	}
	var w wireMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers as sent: 48250 stays 48250, big ids stay exact
	if err := dec.Decode(&w); err != nil {
		return message{}, decodeProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return message{}, errors.New("has data after the JSON object")
	}
	if typ == "" {
		typ = w.Type
	}
	return w.normalize(typ, c)
}

func (w *wireMessage) normalize(typ string, c clock) (message, error) {
	switch typ {
	case typeIdentify, typeGroup, typeTrack, typePage, typeScreen, typeAlias:
	case "":
		return message{}, errors.New("type is missing (identify, group, track, page, screen or alias)")
	default:
		return message{}, fmt.Errorf("type %q is not identify, group, track, page, screen or alias", clip(typ))
	}
	for _, id := range []struct {
		name string
		v    flexString
	}{{"messageId", w.MessageID}, {"userId", w.UserID}, {"anonymousId", w.AnonymousID}, {"groupId", w.GroupID},
		{"context.groupId", w.Context.GroupID}} {
		switch {
		case id.v.bad:
			return message{}, fmt.Errorf("%s must be a string", id.name)
		case len(id.v.s) > maxIDLen:
			return message{}, fmt.Errorf("%s is longer than %d bytes", id.name, maxIDLen)
		}
	}
	m := message{typ: typ, id: w.MessageID.s, userID: w.UserID.s, groupID: w.GroupID.s,
		traits: w.Traits, props: w.Properties, accountID: w.Context.GroupID.s}
	if m.userID == "" && w.AnonymousID.s == "" {
		return message{}, fmt.Errorf("%s needs a userId or anonymousId", typ)
	}
	ts, err := parseTime("timestamp", w.Timestamp)
	if err == nil && ts.IsZero() {
		ts, err = parseTime("originalTimestamp", w.OriginalTimestamp)
	}
	if err != nil {
		return message{}, err
	}
	sent, err := parseTime("sentAt", w.SentAt)
	if err != nil {
		return message{}, err
	}
	m.at = c.place(ts, sent)
	if err := m.check(w); err != nil {
		return message{}, err
	}
	if err := m.checkText(); err != nil {
		return message{}, err
	}
	if m.id == "" {
		m.id = m.contentID()
	}
	switch {
	case typ == typeAlias:
		m.typ = "" // accepted, nothing to store
	case m.userID == "" && typ != typeGroup:
		m.typ = "" // crisp keeps no anonymous profiles or journeys
	}
	return m, nil
}

// check validates the parts the message type needs and derives the rest.
func (m *message) check(w *wireMessage) error {
	if err := checkKeys("traits", m.traits); err != nil {
		return err
	}
	switch m.typ {
	case typeIdentify:
		return checkStrings(m.traits, "traits.", "email", "name", "firstName", "lastName")
	case typeGroup:
		if m.groupID == "" {
			return errors.New("group needs a groupId")
		}
		if role, ok := w.Context.Traits["role"]; ok && role != nil {
			s, isStr := role.(string)
			if !isStr {
				return errors.New("context.traits.role must be a string")
			}
			m.role = s
		}
		return checkStrings(m.traits, "traits.", "name", "plan", "subscription")
	case typeTrack:
		m.event = w.Event
		if m.event == "" {
			return errors.New("track needs an event name")
		}
	case typePage, typeScreen:
		m.event = "Loaded a Page"
		if m.typ == typeScreen {
			m.event = "Viewed a Screen"
		}
		if w.Name != "" {
			m.event = "Viewed " + w.Name + " " + strings.ToUpper(m.typ[:1]) + m.typ[1:]
		}
		m.typ = typeTrack
	}
	if len(m.event) > maxIDLen {
		return fmt.Errorf("event name is longer than %d bytes", maxIDLen)
	}
	return checkKeys("properties", m.props)
}

// checkText refuses NUL bytes in what lands in text columns: PostgreSQL
// cannot store them, and no real id or name has one.
func (m *message) checkText() error {
	for _, f := range []struct{ name, v string }{{"messageId", m.id}, {"userId", m.userID}, {"groupId", m.groupID},
		{"context.groupId", m.accountID}, {"event", m.event}, {"context.traits.role", m.role}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Errorf("%s contains a NUL byte", f.name)
		}
	}
	for k, v := range m.traits {
		s, _ := v.(string)
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("traits.%s contains a NUL byte", strings.ReplaceAll(clip(k), "\x00", `\0`))
		}
	}
	return nil
}

func checkKeys(what string, m map[string]any) error {
	if _, ok := m[""]; ok {
		return fmt.Errorf("%s has an empty key", what)
	}
	return checkNumbers(what, m)
}

// checkNumbers refuses numbers a float64 cannot hold: stored as written,
// they could never be read back, and the customer would become unreadable.
func checkNumbers(where string, v any) error {
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return fmt.Errorf("%s: number %s is out of range", where, clip(string(x)))
		}
	case map[string]any:
		for k, e := range x {
			if err := checkNumbers(where+"."+k, e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkNumbers(fmt.Sprintf("%s[%d]", where, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkStrings refuses non-string values for traits that fill text columns.
func checkStrings(traits map[string]any, prefix string, keys ...string) error {
	for _, k := range keys {
		if v, ok := traits[k]; ok && v != nil {
			if _, ok := v.(string); !ok {
				return fmt.Errorf("%s%s must be a string", prefix, k)
			}
		}
	}
	return nil
}

// timeLayouts are the ISO-8601 forms sources send, most common first. A
// time without a zone is UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02"}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not an ISO-8601 time", field, clip(s))
}

// contentID names a message that came without a messageId by what it says
// and when, so the same line imported twice is stored once.
func (m *message) contentID() string {
	// Maps marshal with sorted keys, so equal messages encode equally.
	b, _ := json.Marshal(struct {
		T, U, G, E, R, A string
		Tr, P            map[string]any
		At               int64
	}{m.typ, m.userID, m.groupID, m.event, m.role, m.accountID, m.traits, m.props, m.at.UnixNano()})
	sum := sha256.Sum256(b)
	return "crisp-" + hex.EncodeToString(sum[:16])
}

// decodeProblem turns a decoding error into a sentence about the message.
func decodeProblem(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return errors.New("must be a JSON object")
	case errors.As(err, &te):
		return fmt.Errorf("%s must be %s, not %s", te.Field, kindOf(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("is not valid JSON (byte %d): %v", se.Offset, err)
	}
	return fmt.Errorf("is not valid JSON: %v", err)
}

func kindOf(k string) string {
	switch k {
	case "map", "struct":
		return "an object"
	case "string":
		return "a string"
	case "slice":
		return "a list"
	}
	return "a " + k
}

// clip shortens a value echoed in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
