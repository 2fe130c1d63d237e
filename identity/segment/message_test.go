package segment

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseMessage(t *testing.T) {
	recv := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	live := clock{received: recv, skew: true}
	file := clock{received: recv}
	tests := []struct {
		name string
		raw  string
		typ  string // the endpoint's
		clk  clock
		want message // compared on typ, id, userID, groupID, event, role, accountID, at
		err  string
	}{
		{name: "skew corrected", clk: live,
			raw:  `{"type":"track","messageId":"m","userId":"u","event":"e","timestamp":"2026-11-26T11:00:00Z","sentAt":"2026-11-26T11:30:00Z"}`,
			want: message{typ: "track", id: "m", userID: "u", event: "e", at: recv.Add(-time.Hour + 30*time.Minute)}},
		{name: "batch sentAt applies", clk: clock{received: recv, skew: true, sentAt: recv.Add(-2 * time.Minute)},
			raw:  `{"type":"track","messageId":"m","userId":"u","event":"e","timestamp":"2026-11-26T11:58:00Z"}`,
			want: message{typ: "track", id: "m", userID: "u", event: "e", at: recv}},
		{name: "no sentAt keeps timestamp", clk: live,
			raw:  `{"type":"identify","messageId":"m","userId":"u","timestamp":"2026-01-02T03:04:05.123+02:00"}`,
			want: message{typ: "identify", id: "m", userID: "u", at: time.Date(2026, 1, 2, 1, 4, 5, 123e6, time.UTC)}},
		{name: "no timestamp is received", clk: live,
			raw:  `{"type":"identify","messageId":"m","userId":"u","sentAt":"2020-01-01T00:00:00Z"}`,
			want: message{typ: "identify", id: "m", userID: "u", at: recv}},
		{name: "originalTimestamp", clk: live,
			raw:  `{"type":"identify","messageId":"m","userId":"u","originalTimestamp":"2026-11-26T10:00:00Z"}`,
			want: message{typ: "identify", id: "m", userID: "u", at: recv.Add(-2 * time.Hour)}},
		{name: "files are not skew corrected", clk: file,
			raw:  `{"type":"track","messageId":"m","userId":"u","event":"e","timestamp":"2025-01-01","sentAt":"2026-01-01T00:00:00Z"}`,
			want: message{typ: "track", id: "m", userID: "u", event: "e", at: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "endpoint type wins", typ: "track", clk: live,
			raw:  `{"type":"identify","messageId":"m","userId":"u","event":"e"}`,
			want: message{typ: "track", id: "m", userID: "u", event: "e", at: recv}},
		{name: "group role and account", clk: live,
			raw:  `{"type":"group","messageId":"m","userId":"u","groupId":42,"context":{"traits":{"role":"Owner"}}}`,
			want: message{typ: "group", id: "m", userID: "u", groupID: "42", role: "Owner", at: recv}},
		{name: "anonymous group stores the account", clk: live,
			raw:  `{"type":"group","messageId":"m","anonymousId":"a","groupId":"g"}`,
			want: message{typ: "group", id: "m", groupID: "g", at: recv}},
		{name: "anonymous track is not stored", clk: live,
			raw:  `{"type":"track","messageId":"m","anonymousId":"a","event":"e"}`,
			want: message{typ: "", id: "m", event: "e", at: recv}},
		{name: "page", clk: live,
			raw:  `{"type":"page","messageId":"m","userId":"u","name":"Pricing","context":{"groupId":"acc"}}`,
			want: message{typ: "track", id: "m", userID: "u", event: "Viewed Pricing Page", accountID: "acc", at: recv}},
		{name: "unnamed screen", clk: live,
			raw:  `{"type":"screen","messageId":"m","userId":"u"}`,
			want: message{typ: "track", id: "m", userID: "u", event: "Viewed a Screen", at: recv}},
		{name: "alias", clk: live, raw: `{"type":"alias","messageId":"m","userId":"u","previousId":"p"}`,
			want: message{id: "m", userID: "u", at: recv}},

		{name: "trailing data", clk: live, raw: `{"type":"identify","userId":"u"} {}`, err: "has data after the JSON object"},
		{name: "array", clk: live, raw: `[]`, err: "must be a JSON object"},
		{name: "null", clk: live, raw: `null`, err: "must be a JSON object"},
		{name: "no type", clk: live, raw: `{"userId":"u"}`, err: "type is missing (identify, group, track, page, screen or alias)"},
		{name: "event not text", clk: live, raw: `{"type":"track","userId":"u","event":7}`, err: "event must be a string, not number"},
		{name: "context not object", clk: live, raw: `{"type":"track","userId":"u","event":"e","context":"x"}`, err: "context must be an object, not string"},
		{name: "role not text", clk: live, raw: `{"type":"group","userId":"u","groupId":"g","context":{"traits":{"role":1}}}`, err: "context.traits.role must be a string"},
		{name: "empty trait key", clk: live, raw: `{"type":"identify","userId":"u","traits":{"":1}}`, err: "traits has an empty key"},
		{name: "plan not text", clk: live, raw: `{"type":"group","userId":"u","groupId":"g","traits":{"plan":true}}`, err: "traits.plan must be a string"},
		{name: "bad sentAt", clk: live, raw: `{"type":"identify","userId":"u","sentAt":"now"}`, err: `sentAt "now" is not an ISO-8601 time`},
		{name: "long id", clk: live, raw: `{"type":"identify","userId":"` + strings.Repeat("x", 600) + `"}`, err: "userId is longer than 512 bytes"},
		{name: "number out of range", clk: live, raw: `{"type":"track","userId":"u","event":"e","properties":{"a":[1,{"b":1e400}]}}`, err: "properties.a[1].b: number 1e400 is out of range"},
		{name: "bool id", clk: live, raw: `{"type":"identify","userId":true}`, err: "userId must be a string"},
		{name: "syntax", clk: live, raw: `{"type":"identify",}`, err: "is not valid JSON (byte 20): invalid character '}' looking for beginning of object key string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMessage([]byte(tc.raw), tc.typ, tc.clk)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.typ != tc.want.typ || got.id != tc.want.id || got.userID != tc.want.userID ||
				got.groupID != tc.want.groupID || got.event != tc.want.event || got.role != tc.want.role ||
				got.accountID != tc.want.accountID || !got.at.Equal(tc.want.at) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestContentID: a message without messageId is named by its content and
// time, so a file imported twice stores its events once, while the same
// undated call sent twice is two events.
func TestContentID(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	id := func(raw string, received time.Time) string {
		t.Helper()
		m, err := parseMessage([]byte(raw), "", clock{received: received})
		if err != nil {
			t.Fatal(err)
		}
		return m.id
	}
	dated := `{"type":"track","userId":"u","event":"e","timestamp":"2026-11-26T11:00:00Z"}`
	undated := `{"type":"track","userId":"u","event":"e"}`
	if a := id(dated, now); len(a) != len("crisp-")+32 || a != id(dated, now.Add(time.Hour)) {
		t.Errorf("dated message: ids %q and %q", a, id(dated, now.Add(time.Hour)))
	}
	if id(undated, now) == id(undated, now.Add(time.Second)) {
		t.Error("undated message sent twice got one id")
	}
}

func TestNumbersKeepTheirText(t *testing.T) {
	m, err := parseMessage([]byte(`{"type":"identify","userId":"u","traits":{"big":12345678901234567890}}`), "", clock{received: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := m.traits["big"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Errorf("big = %#v", m.traits["big"])
	}
}

func TestRecent(t *testing.T) {
	r := newRecent(2)
	r.add([]string{"a", "b"})
	r.add([]string{"b", "c"}) // b is kept, a goes
	for id, want := range map[string]bool{"a": false, "b": true, "c": true, "d": false} {
		if got := r.has(id); got != want {
			t.Errorf("has(%q) = %v, want %v", id, got, want)
		}
	}
}
