package anthropicwire

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func BenchmarkToChat(b *testing.B) {
	body, err := os.ReadFile("testdata/tochat/tool_round_trip.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ToChat(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromChat(b *testing.B) {
	body, err := os.ReadFile("testdata/fromchat/tool_calls.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromChat(body, "claude-sonnet-4-5"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamTextChunk is the hot path: one text chunk in, one
// content_block_delta out.
func BenchmarkStreamTextChunk(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-BqTx8vZ1","object":"chat.completion.chunk","created":1751900000,"model":"gpt-4o-mini",` +
		`"system_fingerprint":"fp_34a54ae93c","choices":[{"index":0,"delta":{"content":" includes 10 seats"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	s := NewStream("claude-sonnet-4-5")
	if _, err := s.Event(chunk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Event(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamInterleavedTools measures the held-back path: two calls
// whose argument fragments alternate, 200 fragments each.
func BenchmarkStreamInterleavedTools(b *testing.B) {
	chunks := [][]byte{
		[]byte(`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\":\""}}]}}]}`),
		[]byte(`{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{\"y\":\""}}]}}]}`),
	}
	for i := 0; i < 200; i++ {
		for tool := 0; tool < 2; tool++ {
			chunks = append(chunks, []byte(fmt.Sprintf(`{"choices":[{"delta":{"tool_calls":[{"index":%d,"function":{"arguments":"%s"}}]}}]}`, tool, strings.Repeat("z", 40))))
		}
	}
	for tool := 0; tool < 2; tool++ {
		chunks = append(chunks, []byte(fmt.Sprintf(`{"choices":[{"delta":{"tool_calls":[{"index":%d,"function":{"arguments":"\"}"}}]}}]}`, tool)))
	}
	chunks = append(chunks, []byte(`{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}`), []byte(`[DONE]`))
	b.ReportAllocs()
	for b.Loop() {
		s := NewStream("m")
		for _, c := range chunks {
			if _, err := s.Event(c); err != nil {
				b.Fatal(err)
			}
		}
	}
}
