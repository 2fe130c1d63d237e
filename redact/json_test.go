package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	tests := []struct {
		name, in, want string
		skip           []string
	}{
		{
			name: "chat messages, model skipped, bytes kept",
			in:   `{"model": "dana@acme.example",  "messages":[{"role":"user","content":"ARR 48,250 for dana@acme.example"}], "stream":true}`,
			want: `{"model": "dana@acme.example",  "messages":[{"role":"user","content":"ARR ` + hRev + ` for ` + mEmail + `"}], "stream":true}`,
			skip: []string{"model"},
		},
		{
			name: "escapes decoded before matching",
			in:   `{"input":"mail d\u0061na@acme.example\nRenewal is blocked until legal signs the new DPA;\n champion is the CFO.\t\"ok\""}`,
			want: `{"input":"mail ` + mEmail + `\n` + hNotes + `\t\"ok\""}`,
		},
		{
			name: "content parts and tool results",
			in:   `{"messages":[{"role":"tool","content":"{\"phone\":\"+1 415 555 0199\"}"},{"role":"user","content":[{"type":"text","text":"card 4111 1111 1111 1111"}]}]}`,
			want: `{"messages":[{"role":"tool","content":"{\"phone\":\"` + hPhone + `\"}"},{"role":"user","content":[{"type":"text","text":"card [hidden:card]"}]}]}`,
		},
		{
			name: "embeddings input array",
			in:   `{"model":"text-embedding-3-small","input":["plain","48.25k ARR"]}`,
			want: `{"model":"text-embedding-3-small","input":["plain","` + hRev + ` ARR"]}`,
			skip: []string{"model"},
		},
		{
			name: "number literal that is a value",
			in:   `{"tool_use":{"input":{"arr":48250,"seats":5,"ratio":0.5}}}`,
			want: `{"tool_use":{"input":{"arr":"` + hRev + `","seats":5,"ratio":0.5}}}`,
		},
		{
			name: "keys kept, nested model redacted",
			in:   `{"metadata":{"dana@acme.example":"x","model":"dana@acme.example"}}`,
			want: `{"metadata":{"dana@acme.example":"x","model":"` + mEmail + `"}}`,
			skip: []string{"model"},
		},
		{
			name: "image data url left alone",
			in:   `{"image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}}`,
			want: `{"image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}}`,
		},
		{
			name: "text data url redacted",
			in:   `["data:text/plain,dana@acme.example"]`,
			want: `["data:text/plain,` + mEmail + `"]`,
		},
		{
			name: "escaped key skipped",
			in:   `{"mod\u0065l":"dana@acme.example"}`,
			want: `{"mod\u0065l":"dana@acme.example"}`,
			skip: []string{"model"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.NewSession().JSON([]byte(tc.in), tc.skip...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

func TestJSONUnchangedIsSameSlice(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"5 seats at $49/month?"}]}`)
	got, err := mustCompile(t, acmeValues(), DefaultDetectors()).NewSession().JSON(body, "model")
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &body[0] || len(got) != len(body) {
		t.Error("unchanged body was copied")
	}
}

func TestJSONErrors(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	tests := []struct{ name, in, want string }{
		{"empty", ``, "unexpected end"},
		{"unterminated string", `{"a":"b`, "unterminated string"},
		{"bad escape", `["\x"]`, "bad escape"},
		{"bad unicode escape", `["\u12"]`, "bad \\u escape"},
		{"control character", "[\"a\nb\"]", "control character"},
		{"missing colon", `{"a" "b"}`, "want ':'"},
		{"trailing comma", `{"a":1,}`, "want an object key"},
		{"trailing data", `{} {}`, "data after"},
		{"bare word", `[hello]`, "unexpected"},
		{"too deep", strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.NewSession().JSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v want error containing %q", err, tc.want)
			}
		})
	}
}
