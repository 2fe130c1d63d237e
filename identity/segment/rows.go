package segment

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crisphq/crisp/catalog"
)

// rowReader yields an import file's rows, each as the messages it stands for.
type rowReader interface {
	// next returns the next row's messages and line; io.EOF at the end. A
	// *rowProblem is the row's fault and reading may go on; any other error
	// ends the file.
	next() ([]message, error)
	line() int
}

// rowProblem is what is wrong with one row.
type rowProblem struct{ err error }

func (p *rowProblem) Error() string { return p.err.Error() }

// maxLine bounds one JSONL line: twice Segment's 32 KB message limit, with room.
const maxLine = 1 << 20

type jsonlReader struct {
	r   *bufio.Reader
	n   int
	clk clock
}

func newJSONLReader(r io.Reader, clk clock) *jsonlReader {
	return &jsonlReader{r: bufio.NewReaderSize(r, maxLine), clk: clk}
}

func (j *jsonlReader) line() int { return j.n }

func (j *jsonlReader) next() ([]message, error) {
	for {
		raw, err := j.r.ReadSlice('\n')
		if len(raw) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		j.n++
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, fmt.Errorf("line is longer than %d bytes", maxLine)
		case err != nil && err != io.EOF:
			return nil, err
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		m, perr := parseMessage(raw, "", j.clk)
		if perr != nil {
			return nil, &rowProblem{perr}
		}
		return []message{m}, nil
	}
}

// csvSpec says which columns a CSV kind names itself; the rest are traits
// (customers, accounts) or event properties (events).
type csvSpec struct {
	required []string
	special  []string
}

var csvSpecs = map[string]csvSpec{
	KindCustomers: {required: []string{"id"}, special: []string{"id", "email", "name", "account_id", "role"}},
	KindAccounts:  {required: []string{"id"}, special: []string{"id", "name", "plan", "subscription"}},
	KindEvents:    {required: []string{"customer_id", "name"}, special: []string{"customer_id", "name", "timestamp", "message_id", "account_id"}},
}

type csvReader struct {
	r    *csv.Reader
	kind string
	cols []string
	idx  map[string]int
	clk  clock
	cat  *catalog.Catalog
	n    int
	rec  []string
}

// newCSVReader reads the header row and checks it names what kind needs.
func newCSVReader(r io.Reader, kind string, clk clock, cat *catalog.Catalog) (*csvReader, error) {
	spec, ok := csvSpecs[kind]
	if !ok {
		return nil, fmt.Errorf("unknown CSV kind %q (customers, accounts or events)", kind)
	}
	c := &csvReader{r: csv.NewReader(r), kind: kind, idx: map[string]int{}, clk: clk, cat: cat}
	c.r.ReuseRecord = true
	header, err := c.r.Read()
	if err == io.EOF {
		return nil, &rowProblem{errors.New("empty file: a CSV import starts with a header row")}
	}
	if err != nil {
		return nil, &rowProblem{fmt.Errorf("header: %w", err)}
	}
	c.n = 1
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if strings.IndexByte(h, 0) >= 0 {
			return nil, &rowProblem{fmt.Errorf("header: column %d contains a NUL byte", i+1)}
		}
		if h == "" {
			return nil, &rowProblem{fmt.Errorf("header: column %d has no name", i+1)}
		}
		if _, dup := c.idx[h]; dup {
			return nil, &rowProblem{fmt.Errorf("header: column %q appears twice", h)}
		}
		c.idx[h] = i
		c.cols = append(c.cols, h)
	}
	for _, req := range spec.required {
		if _, ok := c.idx[req]; !ok {
			return nil, &rowProblem{fmt.Errorf("header: a %s CSV needs the column %s (it has %s)", kind, req, strings.Join(c.cols, ","))}
		}
	}
	return c, nil
}

func (c *csvReader) line() int { return c.n }

func (c *csvReader) next() ([]message, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		c.n = pe.Line
		return nil, &rowProblem{pe.Err}
	}
	if err != nil {
		return nil, err
	}
	c.n, _ = c.r.FieldPos(0)
	for i, v := range rec {
		if strings.IndexByte(v, 0) >= 0 {
			return nil, &rowProblem{fmt.Errorf("%s contains a NUL byte", c.cols[i])}
		}
	}
	c.rec = rec
	var msgs []message
	switch c.kind {
	case KindCustomers:
		msgs, err = c.customer()
	case KindAccounts:
		msgs, err = c.account()
	default:
		msgs, err = c.event()
	}
	if err != nil {
		return nil, &rowProblem{err}
	}
	return msgs, nil
}

func (c *csvReader) cell(col string) string {
	if i, ok := c.idx[col]; ok {
		return strings.TrimSpace(c.rec[i])
	}
	return ""
}

// need returns a required cell, or an error naming its column.
func (c *csvReader) need(col string) (string, error) {
	v := c.cell(col)
	if v == "" {
		return "", fmt.Errorf("%s is empty", col)
	}
	if len(v) > maxIDLen {
		return "", fmt.Errorf("%s is longer than %d bytes", col, maxIDLen)
	}
	return v, nil
}

// rest returns the non-empty cells outside the kind's own columns, typed
// by the catalog field prefix+column when there is one.
func (c *csvReader) rest(prefix string, typed bool) (map[string]any, error) {
	spec := csvSpecs[c.kind]
	out := map[string]any{}
	for i, col := range c.cols {
		v := strings.TrimSpace(c.rec[i])
		if v == "" || slices.Contains(spec.special, col) {
			continue
		}
		if !typed {
			out[col] = v
			continue
		}
		tv, err := c.typed(prefix+col, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", col, err)
		}
		out[col] = tv
	}
	return out, nil
}

func (c *csvReader) customer() ([]message, error) {
	id, err := c.need("id")
	if err != nil {
		return nil, err
	}
	traits, err := c.rest("customer.", true)
	if err != nil {
		return nil, err
	}
	for _, col := range []string{"email", "name", "role"} {
		if v := c.cell(col); v != "" {
			traits[col] = v
		}
	}
	msgs := []message{{typ: typeIdentify, userID: id, traits: traits, at: c.clk.received}}
	if acc := c.cell("account_id"); acc != "" {
		// The role is the customer's in that account; it is also kept as the
		// customer's role trait (catalog field customer.role).
		msgs = append(msgs, message{typ: typeGroup, userID: id, groupID: acc, role: c.cell("role"), at: c.clk.received})
	}
	return msgs, nil
}

func (c *csvReader) account() ([]message, error) {
	id, err := c.need("id")
	if err != nil {
		return nil, err
	}
	traits, err := c.rest("account.", true)
	if err != nil {
		return nil, err
	}
	for _, col := range []string{"name", "plan", "subscription"} {
		if v := c.cell(col); v != "" {
			traits[col] = v
		}
	}
	return []message{{typ: typeGroup, groupID: id, traits: traits, at: c.clk.received}}, nil
}

func (c *csvReader) event() ([]message, error) {
	user, err := c.need("customer_id")
	if err != nil {
		return nil, err
	}
	name, err := c.need("name")
	if err != nil {
		return nil, err
	}
	at, err := parseTime("timestamp", c.cell("timestamp"))
	if err != nil {
		return nil, err
	}
	props, err := c.rest("", false)
	if err != nil {
		return nil, err
	}
	m := message{typ: typeTrack, userID: user, event: name, props: props, accountID: c.cell("account_id"),
		at: c.clk.place(at, time.Time{}), id: c.cell("message_id")}
	if m.id == "" {
		m.id = m.contentID()
	}
	return []message{m}, nil
}

// typed converts a cell to the catalog type of field; cells of fields the
// catalog does not define stay text.
func (c *csvReader) typed(field, v string) (any, error) {
	f, ok := c.cat.Field(field)
	if !ok {
		return v, nil
	}
	switch f.Type {
	case catalog.TypeNumber:
		if _, err := strconv.ParseFloat(v, 64); err != nil || !isJSONNumber(v) {
			return nil, fmt.Errorf("%q is not a number", clip(v))
		}
		return json.Number(v), nil
	case catalog.TypeBool:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", clip(v))
		}
		return b, nil
	case catalog.TypeTime:
		t, err := parseTime("value", v)
		if err != nil {
			return nil, err
		}
		return t.Format("2006-01-02T15:04:05.999999999Z07:00"), nil
	case catalog.TypeList:
		if strings.HasPrefix(v, "[") {
			var l []any
			if err := json.Unmarshal([]byte(v), &l); err != nil {
				return nil, fmt.Errorf("%q is not a JSON list", clip(v))
			}
			return l, nil
		}
		var l []any
		for _, s := range strings.Split(v, ";") {
			if s = strings.TrimSpace(s); s != "" {
				l = append(l, s)
			}
		}
		return l, nil
	}
	return v, nil
}

// isJSONNumber reports whether s is a number as JSON writes it, so the
// value stores as a number and reads back as one.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
