// Package openaiwire writes OpenAI's response wire format: chat completions
// and their chunks, Responses objects and their stream events, embeddings
// and model lists. The offline provider answers with it and tests' fake
// upstreams speak it, so both stay faithful to what real SDKs parse.
package openaiwire

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
)

// Usage counts tokens the OpenAI way.
type Usage struct {
	Prompt, Completion int
}

// ChatCompletion is a complete, non-streamed chat answer.
func ChatCompletion(id, model string, created int64, content string, u Usage) []byte {
	return mustJSON(map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": model,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": content, "refusal": nil},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		"usage": chatUsage(u),
	})
}

func chatUsage(u Usage) map[string]any {
	return map[string]any{"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion}
}

// ChatChunks is a streamed chat answer: a role chunk, one chunk per piece,
// a finish chunk and, when includeUsage, a usage chunk. The caller adds
// "[DONE]".
func ChatChunks(id, model string, created int64, pieces []string, u Usage, includeUsage bool) [][]byte {
	chunk := func(delta map[string]any, finish any) []byte {
		return mustJSON(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		})
	}
	out := [][]byte{chunk(map[string]any{"role": "assistant", "content": ""}, nil)}
	for _, p := range pieces {
		out = append(out, chunk(map[string]any{"content": p}, nil))
	}
	out = append(out, chunk(map[string]any{}, "stop"))
	if includeUsage {
		out = append(out, mustJSON(map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{}, "usage": chatUsage(u),
		}))
	}
	return out
}

// Response is a Responses API object.
func Response(id, model string, created int64, status, text string, u Usage) map[string]any {
	output := []any{}
	if status == "completed" {
		output = append(output, messageItem(id, "completed", text))
	}
	return map[string]any{
		"id": id, "object": "response", "created_at": created, "status": status, "model": model,
		"output": output, "error": nil, "incomplete_details": nil, "instructions": nil,
		"metadata": map[string]any{}, "parallel_tool_calls": true, "temperature": 1.0, "top_p": 1.0,
		"tool_choice": "auto", "tools": []any{}, "store": false,
		"text": map[string]any{"format": map[string]any{"type": "text"}},
		"usage": map[string]any{
			"input_tokens": u.Prompt, "output_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
			"input_tokens_details":  map[string]any{"cached_tokens": 0},
			"output_tokens_details": map[string]any{"reasoning_tokens": 0},
		},
	}
}

func messageItem(respID, status, text string) map[string]any {
	content := []any{}
	if status == "completed" {
		content = append(content, map[string]any{"type": "output_text", "text": text, "annotations": []any{}})
	}
	return map[string]any{"type": "message", "id": "msg_" + respID, "status": status, "role": "assistant", "content": content}
}

// ResponseJSON is Response encoded.
func ResponseJSON(id, model string, created int64, text string, u Usage) []byte {
	return mustJSON(Response(id, model, created, "completed", text, u))
}

// Named is one named stream event.
type Named struct {
	Name string
	Data []byte
}

// ResponseEvents is a streamed Responses answer, from response.created to
// response.completed.
func ResponseEvents(id, model string, created int64, pieces []string, u Usage) []Named {
	seq := 0
	ev := func(typ string, fields map[string]any) Named {
		fields["type"] = typ
		fields["sequence_number"] = seq
		seq++
		return Named{Name: typ, Data: mustJSON(fields)}
	}
	item := "msg_" + id
	full := ""
	for _, p := range pieces {
		full += p
	}
	out := []Named{
		ev("response.created", map[string]any{"response": Response(id, model, created, "in_progress", "", Usage{})}),
		ev("response.in_progress", map[string]any{"response": Response(id, model, created, "in_progress", "", Usage{})}),
		ev("response.output_item.added", map[string]any{"output_index": 0, "item": messageItem(id, "in_progress", "")}),
		ev("response.content_part.added", map[string]any{"item_id": item, "output_index": 0, "content_index": 0,
			"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}}),
	}
	for _, p := range pieces {
		out = append(out, ev("response.output_text.delta", map[string]any{"item_id": item, "output_index": 0, "content_index": 0, "delta": p, "logprobs": []any{}}))
	}
	out = append(out,
		ev("response.output_text.done", map[string]any{"item_id": item, "output_index": 0, "content_index": 0, "text": full, "logprobs": []any{}}),
		ev("response.content_part.done", map[string]any{"item_id": item, "output_index": 0, "content_index": 0,
			"part": map[string]any{"type": "output_text", "text": full, "annotations": []any{}}}),
		ev("response.output_item.done", map[string]any{"output_index": 0, "item": messageItem(id, "completed", full)}),
		ev("response.completed", map[string]any{"response": Response(id, model, created, "completed", full, u)}),
	)
	return out
}

// Embeddings is an embeddings list; base64 encodes each vector as
// little-endian float32, as the SDKs request by default.
func Embeddings(model string, vectors [][]float32, base64Format bool, promptTokens int) []byte {
	data := make([]any, len(vectors))
	for i, v := range vectors {
		var emb any = v
		if base64Format {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	return mustJSON(map[string]any{
		"object": "list", "data": data, "model": model,
		"usage": map[string]any{"prompt_tokens": promptTokens, "total_tokens": promptTokens},
	})
}

// Model is one entry of a model list.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is GET /v1/models' answer.
func ModelList(models []Model) []byte {
	if models == nil {
		models = []Model{}
	}
	return mustJSON(map[string]any{"object": "list", "data": models})
}

// Error is OpenAI's error body.
func Error(message, typ, code string, param any) []byte {
	return mustJSON(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": param, "code": code}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("openaiwire: " + err.Error()) // only ever given plain maps and slices
	}
	return b
}
