package proxy

import (
	"bytes"
	"testing"
)

func TestNullUsage(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{`{"choices":[],"usage":null}`, true},
		{`{"choices":[],"usage" : null }`, true},
		{`{"choices":[],"usage":{"prompt_tokens":1}}`, false},
		{`{"choices":[{"delta":{"content":"usage"}}],"usage":null}`, false}, // the word first, then the member
		{`{"usage":null,"x":{"usage":{"prompt_tokens":1}}}`, false},
	}
	for _, tc := range tests {
		d := []byte(tc.data)
		if got := nullUsage(d, bytes.Index(d, usageKey)); got != tc.want {
			t.Errorf("nullUsage(%s) = %v, want %v", tc.data, got, tc.want)
		}
	}
}
