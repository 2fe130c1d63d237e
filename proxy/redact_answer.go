package proxy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/crisphq/crisp/internal/jsonstr"
	"github.com/crisphq/crisp/redact"
	"github.com/crisphq/crisp/sse"
)

// redactStage runs the request's redactor over the provider's answer before
// the caller sees it, streamed or not: hidden values and detector matches
// are removed, and masked placeholders turn back into values only where the
// member may see them.
type redactStage struct{ s *Server }

func (redactStage) Name() string { return "redact" }

func (st redactStage) Response(r *Request) (ResponseFilter, error) {
	if r.redaction == nil {
		return nil, nil
	}
	return &redactFilter{r: r, reveal: st.s.mayReveal, streams: map[string]*redact.Stream{}}, nil
}

type redactFilter struct {
	r       *Request
	reveal  func(string) bool
	streams map[string]*redact.Stream // one per answer text being streamed
	order   []string
	// scan, edits and finished serve each event of a stream in turn.
	scan     chunkScan
	edits    []edit
	finished []string
}

// Body redacts a complete answer.
func (f *redactFilter) Body(b []byte) ([]byte, error) {
	out, err := f.whole(b, answerTexts)
	if err != nil {
		return nil, err
	}
	f.r.manifest()
	return out, nil
}

// The texts an answer carries, as trees of keys ("#" is every element of
// an array, a leaf a text): a whole chat completion or Responses object,
// and the Responses stream events that carry or repeat a text.
var (
	answerTexts = newPathTree(
		"choices.#.message.content",
		"choices.#.message.refusal",
		"choices.#.message.tool_calls.#.function.arguments",
		"output.#.arguments",
		"output.#.content.#.text",
		"output.#.content.#.refusal",
	)
	completedTexts  = answerTexts.under("response") // response.completed, .failed, .incomplete
	outputItemTexts = newPathTree("item.content.#.text", "item.arguments")
	partTexts       = newPathTree("part.text")
	textTexts       = newPathTree("text")
	argumentsTexts  = newPathTree("arguments")
	deltaTexts      = newPathTree("delta")
)

// pathTree is a set of paths sharing their prefixes, so that one walk of a
// body finds every text they name.
type pathTree struct {
	leaf bool
	// kids are few (at most six here): a scan finds a key sooner than a
	// map hashes it, and every key of an answer is looked up.
	kids []pathKid
}

type pathKid struct {
	key string
	t   *pathTree
}

func newPathTree(paths ...string) *pathTree {
	root := &pathTree{}
	for _, p := range paths {
		n := root
		for _, seg := range strings.Split(p, ".") {
			next := child(n, seg)
			if next == nil {
				next = &pathTree{}
				n.kids = append(n.kids, pathKid{seg, next})
			}
			n = next
		}
		n.leaf = true
	}
	return root
}

// under is the tree of paths below prefix.
func (t *pathTree) under(prefix string) *pathTree {
	return &pathTree{kids: []pathKid{{prefix, t}}}
}

// child is the subtree of t under key (a string, or a key still in the
// body's bytes), or nil.
func child[K string | []byte](t *pathTree, key K) *pathTree {
	for i := range t.kids {
		if t.kids[i].key == string(key) {
			return t.kids[i].t
		}
	}
	return nil
}

// whole redacts every string the tree names in b as a complete text.
func (f *redactFilter) whole(b []byte, tree *pathTree) ([]byte, error) {
	var edits []edit
	f.scan.walk(b, tree, func(v gjson.Result) {
		if safe := f.r.redaction.Answer(v.Str, f.reveal); safe != v.Str {
			edits = append(edits, edit{from: v.Index, to: v.Index + len(v.Raw), raw: jsonstr.Append(nil, safe)})
		}
	})
	if len(edits) == 0 {
		return b, nil
	}
	if err := checkEdits(b, edits); err != nil {
		return nil, err
	}
	return splice(b, edits), nil
}

// texts calls visit, in document order, for every string the tree names in
// obj. A key counts at every occurrence (a caller's parser may read the
// first or the last); "#" is every element of an array.
func texts(obj gjson.Result, t *pathTree, visit func(gjson.Result)) {
	if t.leaf && obj.Type == gjson.String {
		visit(obj)
	}
	if len(t.kids) == 0 {
		return
	}
	switch {
	case obj.IsArray():
		if each := child(t, "#"); each != nil {
			obj.ForEach(func(_, v gjson.Result) bool {
				texts(v, each, visit)
				return true
			})
		}
	case obj.IsObject():
		obj.ForEach(func(k, v gjson.Result) bool {
			if n := child(t, k.Str); n != nil && k.Str != "#" {
				texts(v, n, visit)
			}
			return true
		})
	}
}

// Event redacts one streamed event. Text deltas go through a streaming
// redactor per text (choice, tool call or output part), which holds back
// only a suffix that could still become a match; the held text is released,
// checked, before the event that closes its text.
func (f *redactFilter) Event(ev sse.Event, emit func(sse.Event) error) error {
	if ev.IsComment() {
		return emit(ev)
	}
	if terminal(&ev) || ev.Name == "response.completed" {
		if err := f.flushAll(ev, emit); err != nil {
			return err
		}
		f.r.manifest()
	}
	var err error
	switch {
	case ev.Name == "" && len(ev.Data) > 0 && ev.Data[0] == '{':
		if carriesText(ev.Data) {
			err = f.chatChunk(&ev, emit)
		}
	case ev.Name == "response.output_text.delta", ev.Name == "response.function_call_arguments.delta":
		key := ev.Name[:len(ev.Name)-6] + gjson.GetBytes(ev.Data, "item_id").Str + ":" + gjson.GetBytes(ev.Data, "content_index").Raw
		err = f.setDelta(&ev, deltaTexts, key)
	case ev.Name == "response.output_text.done", ev.Name == "response.function_call_arguments.done":
		key := ev.Name[:len(ev.Name)-5] + gjson.GetBytes(ev.Data, "item_id").Str + ":" + gjson.GetBytes(ev.Data, "content_index").Raw
		tree := textTexts
		if ev.Name == "response.function_call_arguments.done" {
			tree = argumentsTexts
		}
		if err = f.flushKey(key, ev, "delta", emit); err == nil {
			err = f.setWhole(&ev, tree)
		}
	case ev.Name == "response.content_part.done":
		err = f.setWhole(&ev, partTexts)
	case ev.Name == "response.output_item.done":
		err = f.setWhole(&ev, outputItemTexts)
	case ev.Name == "response.completed", ev.Name == "response.failed", ev.Name == "response.incomplete":
		err = f.setWhole(&ev, completedTexts)
	}
	if err != nil {
		return err
	}
	return emit(ev)
}

func (f *redactFilter) rewrite(ev *sse.Event, fn func([]byte) ([]byte, error)) error {
	out, err := fn(ev.Data)
	if err != nil {
		return err
	}
	if string(out) != string(ev.Data) {
		ev.Data, ev.Raw = out, nil
	}
	return nil
}

// setWhole redacts a whole text in an event (a done event repeats it).
func (f *redactFilter) setWhole(ev *sse.Event, tree *pathTree) error {
	return f.rewrite(ev, func(b []byte) ([]byte, error) { return f.whole(b, tree) })
}

// setDelta streams the deltas the tree names through the redactor for key.
func (f *redactFilter) setDelta(ev *sse.Event, tree *pathTree, key string) error {
	var edits []edit
	f.scan.walk(ev.Data, tree, func(v gjson.Result) {
		if e, ok := f.delta(v, key); ok {
			edits = append(edits, e)
		}
	})
	return applyEdits(ev, edits)
}

// edit replaces data[from:to] with raw.
type edit struct {
	from, to int
	raw      []byte
}

// delta streams one text delta through the redactor for key and returns
// the edit that puts the safe text in its place, if it changed.
func (f *redactFilter) delta(v gjson.Result, key string) (edit, bool) {
	if v.Type != gjson.String {
		return edit{}, false
	}
	safe := f.stream(key).Write(v.Str)
	if safe == v.Str {
		return edit{}, false
	}
	return edit{from: v.Index, to: v.Index + len(v.Raw), raw: jsonstr.Append(nil, safe)}, true
}

// applyEdits puts edits into the event, refusing any gjson did not place
// (it cannot happen for the paths read here): an unredacted event must
// never go out instead.
func applyEdits(ev *sse.Event, edits []edit) error {
	if len(edits) == 0 {
		return nil
	}
	if err := checkEdits(ev.Data, edits); err != nil {
		return err
	}
	ev.Data, ev.Raw = splice(ev.Data, edits), nil
	return nil
}

// checkEdits refuses edits that are not each a whole string of data, in
// order: the text would be written in the wrong place, and an unredacted
// answer must never go out instead.
func checkEdits(data []byte, edits []edit) error {
	at := 0
	for _, e := range edits {
		if e.from < at || e.to > len(data) || e.from >= e.to || data[e.from] != '"' || data[e.to-1] != '"' {
			return fmt.Errorf("redact answer: no place for a text")
		}
		at = e.to
	}
	return nil
}

// splice applies edits (in increasing offset order, not overlapping) in one
// copy: the event is not parsed again per edit.
func splice(data []byte, edits []edit) []byte {
	n := len(data)
	for _, e := range edits {
		n += len(e.raw) - (e.to - e.from)
	}
	out, at := make([]byte, 0, n), 0
	for _, e := range edits {
		out = append(append(out, data[at:e.from]...), e.raw...)
		at = e.to
	}
	return append(out, data[at:]...)
}

func (f *redactFilter) stream(key string) *redact.Stream {
	st, ok := f.streams[key]
	if !ok {
		st = f.r.redaction.Stream(f.reveal)
		f.streams[key] = st
		f.order = append(f.order, key)
	}
	return st
}

// chatChunk streams each choice's content and each tool call's arguments;
// a choice that finishes has its held text released first, in a chunk of
// its own. The event is read once: each text's offset is known, so the safe
// texts are spliced in rather than set by path.
func (f *redactFilter) chatChunk(ev *sse.Event, emit func(sse.Event) error) error {
	f.edits, f.finished = f.edits[:0], f.finished[:0]
	f.scan.chunk(ev.Data, func(v gjson.Result, key string) {
		if e, ok := f.delta(v, key); ok {
			f.edits = append(f.edits, e)
		}
	}, func(idx string) { f.finished = append(f.finished, idx) })
	if err := applyEdits(ev, f.edits); err != nil {
		return err
	}
	for _, idx := range f.finished {
		if err := f.flushChoice(idx, *ev, emit); err != nil {
			return err
		}
	}
	return nil
}

// chunkTextsGJSON calls text, in document order, for each choice's content
// and each tool call's arguments in a chat.completion.chunk, with the key
// of the stream it belongs to ("c" and the choice's index, or "t", the
// choice's index, ":" and the call's index), and finished with the index
// of each choice that finishes. It reads any JSON gjson reads;
// chunkScan.chunk is the fast form for the usual shapes.
func chunkTextsGJSON(data []byte, text func(v gjson.Result, key string), finished func(idx string)) {
	// Every occurrence of a key is read, not just the first or last: a
	// caller's parser may take either, so each copy of a text is redacted.
	each := func(obj gjson.Result, key string, fn func(v gjson.Result)) {
		obj.ForEach(func(k, v gjson.Result) bool {
			if k.Str == key {
				fn(v)
			}
			return true
		})
	}
	each(gjson.ParseBytes(data), "choices", func(choices gjson.Result) {
		choices.ForEach(func(_, ch gjson.Result) bool {
			// One pass over the choice's keys, then over its deltas'.
			var idx string
			var deltas []gjson.Result
			finish := false
			ch.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "index":
					idx = v.Raw
				case "delta":
					deltas = append(deltas, v)
				case "finish_reason":
					finish = finish || v.Type != gjson.Null
				}
				return true
			})
			for _, delta := range deltas {
				delta.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "content":
						text(v, "c"+idx)
					case "tool_calls":
						v.ForEach(func(_, tc gjson.Result) bool {
							each(tc, "function", func(fn gjson.Result) {
								each(fn, "arguments", func(args gjson.Result) {
									text(args, "t"+idx+":"+tc.Get("index").Raw)
								})
							})
							return true
						})
					}
					return true
				})
			}
			if finish {
				finished(idx)
			}
			return true
		})
	})
}

// flushChoice releases a finishing choice's held text in a chunk shaped
// like tmpl, before tmpl itself.
func (f *redactFilter) flushChoice(idx string, tmpl sse.Event, emit func(sse.Event) error) error {
	for _, key := range f.order {
		st := f.streams[key]
		if st == nil || (key != "c"+idx && !hasPrefix(key, "t"+idx+":")) {
			continue
		}
		rest := st.Flush()
		delete(f.streams, key)
		if rest == "" {
			continue
		}
		data := releasedChunk(tmpl.Data, idx, key, rest)
		if err := emit(sse.Event{Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// releasedChunk is the chat.completion.chunk that carries a choice's held
// text (content, or a tool call's arguments when key is "t…"), with the id,
// created and model of the chunk tmpl. Written by hand: it goes out once
// per choice per stream, and encoding/json over maps cost more than the
// rest of the stream's redaction.
func releasedChunk(tmpl []byte, idx, key, rest string) []byte {
	meta := gjson.GetManyBytes(tmpl, "id", "created", "model")
	index := gjson.Parse(idx).Int()
	b := make([]byte, 0, len(rest)+160)
	b = append(b, `{"choices":[{"delta":{`...)
	if key[0] == 't' {
		n, _ := strconv.Atoi(key[len("t"+idx+":"):])
		b = append(b, `"tool_calls":[{"function":{"arguments":`...)
		b = jsonstr.Append(b, rest)
		b = append(b, `},"index":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `}]`...)
	} else {
		b = append(b, `"content":`...)
		b = jsonstr.Append(b, rest)
	}
	b = append(b, `},"finish_reason":null,"index":`...)
	b = strconv.AppendInt(b, index, 10)
	b = append(b, `}],"created":`...)
	b = strconv.AppendInt(b, meta[1].Int(), 10)
	b = append(b, `,"id":`...)
	b = jsonstr.Append(b, meta[0].Str)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, meta[2].Str)
	return append(b, `,"object":"chat.completion.chunk"}`...)
}

// flushKey releases one Responses text's held part as a delta event shaped
// like the done event tmpl.
func (f *redactFilter) flushKey(key string, tmpl sse.Event, field string, emit func(sse.Event) error) error {
	st := f.streams[key]
	if st == nil {
		return nil
	}
	delete(f.streams, key)
	rest := st.Flush()
	if rest == "" {
		return nil
	}
	name := tmpl.Name[:len(tmpl.Name)-len("done")] + "delta"
	data, err := sjson.SetBytes([]byte(`{}`), "type", name)
	if err == nil {
		for _, k := range []string{"item_id", "output_index", "content_index"} {
			if v := gjson.GetBytes(tmpl.Data, k); v.Exists() {
				data, _ = sjson.SetRawBytes(data, k, []byte(v.Raw))
			}
		}
		data, err = sjson.SetBytes(data, field, rest)
	}
	if err != nil {
		return err
	}
	return emit(sse.Named(name, data))
}

// flushAll releases every text still held, before the stream's last event.
func (f *redactFilter) flushAll(tmpl sse.Event, emit func(sse.Event) error) error {
	for _, key := range f.order {
		if f.streams[key] == nil {
			continue
		}
		switch key[0] {
		case 'c', 't':
			if err := f.flushChoice(choiceOf(key), tmpl, emit); err != nil {
				return err
			}
		default:
			if err := f.flushKey(key, sse.Named(responsesDone(key), tmpl.Data), "delta", emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// End releases what an upstream that stopped early left held, checked.
func (f *redactFilter) End(emit func(sse.Event) error) error {
	err := f.flushAll(sse.Event{Data: []byte(`{}`)}, emit)
	f.r.manifest()
	return err
}

func choiceOf(key string) string {
	k := key[1:]
	for i := 0; i < len(k); i++ {
		if k[i] == ':' {
			return k[:i]
		}
	}
	return k
}

// responsesDone names the done event of a Responses stream key.
func responsesDone(key string) string {
	if hasPrefix(key, "response.function_call_arguments.") {
		return "response.function_call_arguments.done"
	}
	return "response.output_text.done"
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// carriesText is a cheap test that a chat chunk may have anything to
// redact or may end a choice. It errs towards parsing: only a chunk with no
// text key at all and a null finish_reason (as OpenAI writes it) is passed
// without a look, such as a usage chunk.
func carriesText(data []byte) bool {
	// A key may be spelled with escapes ("cont\u0065nt"): such an event is
	// read in full.
	if bytes.Contains(data, []byte(`"content"`)) || bytes.Contains(data, []byte(`"arguments"`)) ||
		bytes.Contains(data, []byte(`"refusal"`)) || bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	return bytes.Contains(data, []byte(`"finish_reason"`)) && !bytes.Contains(data, []byte(`"finish_reason":null`))
}
