package proxy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// chunkTexts and treeTexts read one document with a fresh reader, as the
// tests and benchmarks compare the fast readers with gjson's walks.
func chunkTexts(data []byte, text func(v gjson.Result, key string), finished func(idx string)) {
	var c chunkScan
	c.chunk(data, text, finished)
}

func treeTexts(data []byte, t *pathTree, visit func(gjson.Result)) {
	var c chunkScan
	c.walk(data, t, visit)
}

// chunkReport is what a chunk reader reported, in order.
func chunkReport(read func([]byte, func(gjson.Result, string), func(string)), data []byte) string {
	var b strings.Builder
	read(data, func(v gjson.Result, key string) {
		if v.Type != gjson.String { // the filter ignores these
			return
		}
		fmt.Fprintf(&b, "text %s @%d %q %q\n", key, v.Index, v.Raw, v.Str)
	}, func(idx string) {
		fmt.Fprintf(&b, "finished %q\n", idx)
	})
	return b.String()
}

var chunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"Your trial "},"finish_reason":null}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":240,"completion_tokens":32}}`,
	`{"choices":[{"delta":{"content":"late index"},"index":1}]}`,
	`{"choices":[{"index":0,"delta":{"content":"a"},"index":2,"delta":{"content":"b"}}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"email\":"}}]}}]}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"x","arguments":"y"},"index":3,"index":4}]}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"caf\u00e9 \"quoted\" \ud83d\ude00 \n"},"finish_reason":"length"}]}`,
	`{"choices":[{"index":0,"delta":{"content":null,"tool_calls":null}},{"index":1,"delta":{"content":"two"},"finish_reason":false}]}`,
	`{"choices":null}`,
	`{"choices":[]}`,
	`{"choices":[1,"x",[{"delta":{"content":"hidden in an array"}}],{"index":0,"delta":"not an object"}]}`,
	`  {"choices" : [ { "index" : 0 , "delta" : { "content" : "spaced" } } ] }  `,
	`{"choices":{"a":{"index":0,"delta":{"content":"object choices"}}}}`,
	`{"choices":[{"index":0,"delta":{"tool_calls":{"a":{"function":{"arguments":"object calls"}}}}}]}`,
	`{"choices":[{"index":0,"delta":{"cont\u0065nt":"escaped key"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"ok"}}],"extra":[1,2.5e-3,-0,true,false,null,{"a":[{}]}]}`,
	`{"choices":[{"index":0,"delta":{"content":"bad number after"}}],"n":01}`,
	`{"choices":[{"index":0,"delta":{"content":"trailing"}}]} x`,
	`{"choices":[{"index":"0","delta":{"content":"string index"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"raw` + "\n" + `newline"}}]}`,
	`{"choices":[{"index":0,"delta":{"content":"` + "\xff\xfe" + `"}}]}`,
}

// TestChunkTextsFast: the usual shapes are read by the fast reader, and
// every seed reads the same either way.
func TestChunkTextsFast(t *testing.T) {
	fast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 16: true, 19: true, 21: true}
	for i, seed := range chunkSeeds {
		var c chunkScan
		if got := c.read([]byte(seed)); got != fast[i] {
			t.Errorf("seed %d: fast reader took it: %v, want %v\n%s", i, got, fast[i], seed)
		}
		if got, want := chunkReport(chunkTexts, []byte(seed)), chunkReport(chunkTextsGJSON, []byte(seed)); got != want {
			t.Errorf("seed %d reads differently\nfast:\n%s\ngjson:\n%s", i, got, want)
		}
	}
}

// FuzzChunkTexts: whatever the chunk, the fast reader reports exactly what
// gjson's walk reports (it falls back to it where it cannot).
func FuzzChunkTexts(f *testing.F) {
	for _, s := range chunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := chunkReport(chunkTexts, data), chunkReport(chunkTextsGJSON, data); got != want {
			t.Fatalf("%q reads differently\nfast:\n%s\ngjson:\n%s", data, got, want)
		}
	})
}

func BenchmarkChunkTexts(b *testing.B) {
	data := []byte(chunkSeeds[0])
	for _, v := range []struct {
		name string
		read func([]byte, func(gjson.Result, string), func(string))
	}{{"fast", chunkTexts}, {"gjson", chunkTextsGJSON}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				v.read(data, func(gjson.Result, string) {}, func(string) {})
			}
		})
	}
}

// treeReport is what a tree reader reported, in order.
func treeReport(read func([]byte, *pathTree, func(gjson.Result)), data []byte, t *pathTree) string {
	var b strings.Builder
	read(data, t, func(v gjson.Result) {
		fmt.Fprintf(&b, "text @%d %q %q\n", v.Index, v.Raw, v.Str)
	})
	return b.String()
}

func gjsonTreeTexts(data []byte, t *pathTree, visit func(gjson.Result)) {
	texts(gjson.ParseBytes(data), t, visit)
}

var treeSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Your trial includes five seats.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":240,"completion_tokens":32,"total_tokens":272},"service_tier":"default","system_fingerprint":"fp_1"}`,
	`{"choices":[{"message":{"content":"a","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}},{"message":{"refusal":"no"}}]}`,
	`{"output":[{"type":"message","content":[{"type":"output_text","text":"hi"},{"type":"refusal","refusal":"no"}]},{"type":"function_call","arguments":"{}"}]}`,
	`{"response":{"output":[{"content":[{"text":"done"}]}]}}`,
	`{"choices":[{"message":{"content":"x","content":"y"}}]}`,
	`{"choices":{"#":{"message":{"content":"object choices"}}}}`,
	`{"choices":[{"message":{"cont\u0065nt":"escaped key"}}]}`,
	`{"choices":[{"message":{"content":"caf\u00e9 \"q\" \ud83d\ude00"}}]}`,
	`{"choices":[{"message":{"content":null}},1,"s",[{"message":{"content":"nested array"}}]]}`,
	`  {"choices" : [ { "message" : { "content" : "spaced" } } ] }  `,
	`{"choices":[{"message":{"content":"ok"}}],"n":01}`,
	`{"choices":[{"message":{"content":"trailing"}}]} x`,
	`[{"choices":[]}]`,
	`"just a string"`,
	`{"item":{"content":[{"text":"t"}],"arguments":"a"},"part":{"text":"p"},"text":"whole","delta":"d"}`,
}

// FuzzTreeTexts: whatever the document, the one-pass reader reports what
// gjson's walk reports, for every tree the answer filter uses.
func FuzzTreeTexts(f *testing.F) {
	for _, s := range treeSeeds {
		f.Add([]byte(s))
	}
	trees := []*pathTree{answerTexts, completedTexts, outputItemTexts, partTexts, textTexts, argumentsTexts, deltaTexts}
	f.Fuzz(func(t *testing.T, data []byte) {
		for i, tree := range trees {
			if got, want := treeReport(treeTexts, data, tree), treeReport(gjsonTreeTexts, data, tree); got != want {
				t.Fatalf("tree %d: %q reads differently\nfast:\n%s\ngjson:\n%s", i, data, got, want)
			}
		}
	})
}

// BenchmarkAnswerTexts is finding the texts of a whole chat completion.
func BenchmarkAnswerTexts(b *testing.B) {
	data := []byte(treeSeeds[0])
	for _, v := range []struct {
		name string
		read func([]byte, *pathTree, func(gjson.Result))
	}{{"fast", treeTexts}, {"gjson", gjsonTreeTexts}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				v.read(data, answerTexts, func(gjson.Result) {})
			}
		})
	}
}
