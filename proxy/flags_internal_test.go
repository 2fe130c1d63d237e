package proxy

import (
	"testing"

	"github.com/tidwall/gjson"
)

// TestSetTopLevel forces a top-level field in every shape of object, and
// leaves the rest of the body as it was.
func TestSetTopLevel(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{}`, `{"store":false}`},
		{"{ \n }", "{ \n \"store\":false}"},
		{`{"model":"m"}`, `{"model":"m","store":false}`},
		{"{\"model\":\"m\"}\n", "{\"model\":\"m\",\"store\":false}\n"},
		{`{"store":true,"model":"m"}`, `{"store":false,"model":"m"}`},
		{`{"model":"m","store": "yes"}`, `{"model":"m","store": false}`},
		{`{"model":"}","messages":[{"content":"}"}]}`, `{"model":"}","messages":[{"content":"}"}],"store":false}`},
	}
	for _, tc := range tests {
		var cur gjson.Result
		gjson.Parse(tc.body).ForEach(func(k, v gjson.Result) bool {
			if k.Str == "store" {
				cur = v
			}
			return true
		})
		got, ok := setTopLevel([]byte(tc.body), "store", "false", cur)
		if !ok || string(got) != tc.want {
			t.Errorf("setTopLevel(%q) = %q, %v; want %q", tc.body, got, ok, tc.want)
		}
		if !gjson.ValidBytes(got) || gjson.GetBytes(got, "store").Type != gjson.False {
			t.Errorf("setTopLevel(%q) = %q: not JSON with store false", tc.body, got)
		}
	}
}
