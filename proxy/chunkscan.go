package proxy

import "github.com/tidwall/gjson"

// chunk is chunkTextsGJSON in one pass over the chunk. gjson walks a
// chunk once per level of nesting (the choices array, each choice, its
// delta), which made reading the chunk cost more than redacting its text.
// The reader keeps its lists from one chunk to the next: a stream's filter
// reads every chunk with one.
//
// The fast reader takes only what it can read exactly as gjson does:
// strictly valid JSON whose keys have no escapes and whose choices and
// tool_calls are not objects (gjson would take an object's values as
// choices or calls). Anything else (an escaped key, such an object,
// invalid JSON) goes to chunkTextsGJSON, which is the reference:
// FuzzChunkTexts checks that both report the same texts. Nothing is
// reported until the whole chunk has been read, so a fallback never feeds
// a stream twice.
//
// It checks the JSON as it reads: gjson.ValidBytes first would be a second
// pass that costs most of what the one pass saves (BenchmarkChunkTexts:
// 1.5 µs a chunk that way, 0.94 µs this way, 1.7 µs for gjson's walk).
func (c *chunkScan) chunk(data []byte, text func(v gjson.Result, key string), finished func(idx string)) {
	if !c.read(data) {
		chunkTextsGJSON(data, text, finished)
		return
	}
	for _, it := range c.items {
		if it.finish {
			finished(it.key)
			continue
		}
		text(it.v, it.key)
	}
}

// chunkItem is one text found (v, the stream key) or, with finish, a
// choice that finishes (key is its index).
type chunkItem struct {
	v      gjson.Result
	key    string
	finish bool
}

// chunkScan reads one chunk; ok turns false at the first thing the fast
// reader does not take.
type chunkScan struct {
	d     []byte
	i     int
	ok    bool
	items []chunkItem
	// the choice being read
	texts []choiceText
}

// choiceText is a text of the choice being read: its stream key is known
// only at the end of the choice, which may name its index last.
type choiceText struct {
	v    gjson.Result
	tool bool
	call string // the tool call's index, raw
}

const maxChunkDepth = 32

// contentKeys are the stream keys of choices 0–9's content.
var contentKeys = [10]string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}

func (c *chunkScan) read(data []byte) bool {
	return c.document(data, func() {
		c.object(func(key []byte) {
			if string(key) == "choices" {
				c.objects(c.choice, 1)
			} else {
				c.skip(1)
			}
		}, 0)
	})
}

// document reads data, a JSON value with whitespace around it, with value,
// and reports whether the fast reader took all of it.
func (c *chunkScan) document(data []byte, value func()) bool {
	c.d, c.i, c.ok, c.items = data, 0, true, c.items[:0]
	c.ws()
	value()
	c.ws()
	return c.ok && c.i == len(c.d)
}

func (c *chunkScan) fail() { c.ok = false }

func (c *chunkScan) ws() {
	for c.i < len(c.d) {
		switch c.d[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// peek is the next byte, or 0 at the end.
func (c *chunkScan) peek() byte {
	if c.i < len(c.d) {
		return c.d[c.i]
	}
	return 0
}

// object reads an object's members, calling member with each key when the
// reader is at the member's value; member must read the value.
func (c *chunkScan) object(member func(key []byte), depth int) {
	for more := c.open('{', '}', depth); more; more = c.next('}') {
		from, to, esc := c.str()
		if !c.ok || esc { // an escaped key: gjson unescapes it; leave it to gjson
			c.fail()
			return
		}
		c.ws()
		if c.peek() != ':' {
			c.fail()
			return
		}
		c.i++
		c.ws()
		member(c.d[from+1 : to-1])
	}
}

// array reads an array, calling elem at each element; elem must read it.
func (c *chunkScan) array(elem func(), depth int) {
	for more := c.open('[', ']', depth); more; more = c.next(']') {
		elem()
	}
}

// open steps into an object or array that starts with start, and reports
// whether an element follows (false when it is empty, or not one).
func (c *chunkScan) open(start, end byte, depth int) bool {
	if !c.ok || c.peek() != start || depth > maxChunkDepth {
		c.fail()
		return false
	}
	c.i++
	c.ws()
	if c.peek() == end {
		c.i++
		return false
	}
	return true
}

// next steps over what follows an element: a comma, when it reports that
// another element follows, or end, which closes the container.
func (c *chunkScan) next(end byte) bool {
	if !c.ok {
		return false
	}
	c.ws()
	switch c.peek() {
	case ',':
		c.i++
		c.ws()
		return true
	case end:
		c.i++
	default:
		c.fail()
	}
	return false
}

// str reads a string: [from, to) is its raw form, quotes included; esc
// reports a backslash in it. A control character fails it, as JSON says.
func (c *chunkScan) str() (from, to int, esc bool) {
	if c.peek() != '"' {
		c.fail()
		return 0, 0, false
	}
	from = c.i
	d := c.d
	for j := c.i + 1; j < len(d); j++ {
		b := d[j]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		switch {
		case b == '"':
			c.i = j + 1
			return from, c.i, esc
		case b == '\\' && j+1 < len(d) && validEscape(d, j+1):
			esc = true
			j++
		default: // a control character, or a bad escape
			c.fail()
			return 0, 0, false
		}
	}
	c.fail()
	return 0, 0, false
}

// validEscape reports a valid escape after the backslash before d[j].
func validEscape(d []byte, j int) bool {
	switch d[j] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if j+4 >= len(d) {
			return false
		}
		for _, h := range d[j+1 : j+5] {
			if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
				return false
			}
		}
		return true
	}
	return false
}

// stringResult reads a string value as gjson reports it.
func (c *chunkScan) stringResult() gjson.Result {
	from, to, esc := c.str()
	if !c.ok {
		return gjson.Result{}
	}
	raw := string(c.d[from:to])
	if esc {
		r := gjson.Parse(raw) // gjson's own unescaping
		r.Index = from
		return r
	}
	return gjson.Result{Type: gjson.String, Raw: raw, Str: raw[1 : len(raw)-1], Index: from}
}

// skip reads any value, strictly, and returns its raw form.
func (c *chunkScan) skip(depth int) []byte {
	from := c.i
	switch b := c.peek(); {
	case b == '{':
		c.object(func([]byte) { c.skip(depth + 1) }, depth)
	case b == '[':
		c.array(func() { c.skip(depth + 1) }, depth)
	case b == '"':
		c.str()
	case b == 't':
		c.literal("true")
	case b == 'f':
		c.literal("false")
	case b == 'n':
		c.literal("null")
	default:
		c.number()
	}
	if !c.ok {
		return nil
	}
	return c.d[from:c.i]
}

func (c *chunkScan) literal(word string) {
	if len(c.d)-c.i < len(word) || string(c.d[c.i:c.i+len(word)]) != word {
		c.fail()
		return
	}
	c.i += len(word)
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *chunkScan) number() {
	if c.peek() == '-' {
		c.i++
	}
	switch b := c.peek(); {
	case b == '0':
		c.i++
	case '1' <= b && b <= '9':
		c.digits()
	default:
		c.fail()
		return
	}
	if c.peek() == '.' {
		c.i++
		if !isDigitByte(c.peek()) {
			c.fail()
			return
		}
		c.digits()
	}
	if b := c.peek(); b == 'e' || b == 'E' {
		c.i++
		if b := c.peek(); b == '+' || b == '-' {
			c.i++
		}
		if !isDigitByte(c.peek()) {
			c.fail()
			return
		}
		c.digits()
	}
}

func (c *chunkScan) digits() {
	for isDigitByte(c.peek()) {
		c.i++
	}
}

func isDigitByte(b byte) bool { return '0' <= b && b <= '9' }

// members reads an object's members with member. Any other value is
// skipped: gjson finds no member in it.
func (c *chunkScan) members(member func(key []byte), depth int) {
	if c.peek() != '{' {
		c.skip(depth)
		return
	}
	c.object(member, depth)
}

// objects reads an array's object elements with each; gjson finds nothing
// in its other elements, nor in a scalar. An object fails: gjson would
// take its values for the elements.
func (c *chunkScan) objects(each func(), depth int) {
	switch c.peek() {
	case '{':
		c.fail()
	case '[':
		c.array(func() {
			if c.peek() == '{' {
				each()
			} else {
				c.skip(depth + 1)
			}
		}, depth)
	default:
		c.skip(depth)
	}
}

// choice reads one choice. Its index is the last "index" member, and it
// keys every text of the choice, wherever the member stands.
func (c *chunkScan) choice() {
	c.texts = c.texts[:0]
	var idx []byte
	finish := false
	c.object(func(key []byte) {
		switch string(key) {
		case "index":
			idx = c.skip(3)
		case "delta":
			c.members(c.deltaMember, 3)
		case "finish_reason":
			finish = string(c.skip(3)) != "null" || finish
		default:
			c.skip(3)
		}
	}, 2)
	if !c.ok {
		return
	}
	for _, t := range c.texts {
		var key string
		switch {
		case t.tool:
			key = "t" + string(idx) + ":" + t.call
		case len(idx) == 1 && isDigitByte(idx[0]):
			key = contentKeys[idx[0]-'0'] // the usual case, without an allocation
		default:
			key = "c" + string(idx)
		}
		c.items = append(c.items, chunkItem{v: t.v, key: key})
	}
	if finish {
		c.items = append(c.items, chunkItem{key: string(idx), finish: true})
	}
}

// deltaMember reads a member of a choice's delta: each content and each
// tool call's arguments, in order.
func (c *chunkScan) deltaMember(key []byte) {
	switch {
	case string(key) == "content" && c.peek() == '"':
		c.texts = append(c.texts, choiceText{v: c.stringResult()})
	case string(key) == "tool_calls":
		c.objects(c.toolCall, 4)
	default:
		c.skip(4) // another member, or content that is no string: no text
	}
}

// toolCall reads one tool call: its arguments are keyed by its first
// "index" member (gjson's Get), wherever that stands.
func (c *chunkScan) toolCall() {
	first := len(c.texts)
	var call []byte
	seen := false
	c.object(func(key []byte) {
		switch string(key) {
		case "index":
			v := c.skip(6)
			if !seen {
				call, seen = v, true
			}
		case "function":
			c.members(func(key []byte) {
				if string(key) == "arguments" && c.peek() == '"' {
					c.texts = append(c.texts, choiceText{v: c.stringResult(), tool: true})
				} else {
					c.skip(7)
				}
			}, 6)
		default:
			c.skip(6)
		}
	}, 5)
	for i := first; i < len(c.texts); i++ {
		c.texts[i].call = string(call)
	}
}

// walk is texts over data in one pass, for whole answers and Responses
// events: gjson's walk reads each level of nesting again, which cost more
// than redacting the texts it found. Like chunk it takes only strictly
// valid JSON with unescaped keys and leaves anything else to texts, the
// reference (FuzzTreeTexts); nothing is visited before the whole document
// has been read.
func (c *chunkScan) walk(data []byte, t *pathTree, visit func(gjson.Result)) {
	if !c.document(data, func() { c.tree(t, 0) }) {
		texts(gjson.ParseBytes(data), t, visit)
		return
	}
	for _, it := range c.items {
		visit(it.v)
	}
}

// tree reads one value, reporting the strings t names as texts does: a
// leaf's string, an object's members that t names (never "#"), and every
// element of an array when t names "#".
func (c *chunkScan) tree(t *pathTree, depth int) {
	switch c.peek() {
	case '"':
		if !t.leaf {
			c.str()
			return
		}
		if v := c.stringResult(); c.ok {
			c.items = append(c.items, chunkItem{v: v})
		}
	case '{':
		if len(t.kids) == 0 {
			c.skip(depth)
			return
		}
		c.object(func(key []byte) {
			if n := child(t, key); n != nil && string(key) != "#" {
				c.tree(n, depth+1)
			} else {
				c.skip(depth + 1)
			}
		}, depth)
	case '[':
		each := child(t, "#")
		if each == nil {
			c.skip(depth)
			return
		}
		c.array(func() { c.tree(each, depth+1) }, depth)
	default:
		c.skip(depth)
	}
}
