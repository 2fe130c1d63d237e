package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// traitWrite is one trait to merge.
type traitWrite struct {
	Key   string
	Value any
	At    time.Time // zero: now
}

// maxKeyLen bounds ids and trait keys.
const maxKeyLen = 512

// parseTraits reads a trait patch: either an object of key → value, all
// written now, or a list of {"key", "value", "timestamp"} where each trait
// carries when it was true, so a late write of an old value loses to a
// newer one (last write wins by timestamp).
func parseTraits(raw []byte) ([]traitWrite, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errBadRequest("No traits given: send an object of key to value, or a list of {\"key\",\"value\",\"timestamp\"}.")
	}
	var out []traitWrite
	switch raw[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := decodeJSON(raw, &m, false); err != nil {
			return nil, err
		}
		for k, v := range m {
			value, err := traitValue("traits."+k, v)
			if err != nil {
				return nil, err
			}
			out = append(out, traitWrite{Key: k, Value: value})
		}
	case '[':
		var list []struct {
			Key       string          `json:"key"`
			Value     json.RawMessage `json:"value"`
			Timestamp string          `json:"timestamp"`
		}
		if err := decodeJSON(raw, &list, true); err != nil {
			return nil, err
		}
		for i, t := range list {
			where := fmt.Sprintf("traits[%d]", i)
			if t.Key == "" {
				return nil, errBadRequest("%s: key is missing.", where)
			}
			value, err := traitValue(where+".value", t.Value)
			if err != nil {
				return nil, err
			}
			w := traitWrite{Key: t.Key, Value: value}
			if t.Timestamp != "" {
				if w.At, err = time.Parse(time.RFC3339Nano, t.Timestamp); err != nil {
					return nil, errBadRequest("%s: timestamp %q is not an RFC 3339 time.", where, t.Timestamp)
				}
			}
			out = append(out, w)
		}
	default:
		return nil, errBadRequest("Traits must be an object of key to value, or a list of {\"key\",\"value\",\"timestamp\"}.")
	}
	if len(out) == 0 {
		return nil, errBadRequest("No traits given.")
	}
	for _, w := range out {
		switch {
		case strings.TrimSpace(w.Key) == "":
			return nil, errBadRequest("A trait key is empty.")
		case strings.IndexByte(w.Key, 0) >= 0:
			return nil, errBadRequest("A trait key contains a NUL byte.")
		case len(w.Key) > maxKeyLen:
			return nil, errBadRequest("Trait key %.32q… is longer than %d bytes.", w.Key, maxKeyLen)
		}
	}
	slices.SortStableFunc(out, func(a, b traitWrite) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// traitValue decodes one value, keeping numbers as written.
func traitValue(where string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, errBadRequest("%s is missing.", where)
	}
	if string(raw) == "null" {
		return nil, errBadRequest("%s is null: removing a trait is not supported.", where)
	}
	var v any
	if err := decodeJSON(raw, &v, false); err != nil {
		return nil, err
	}
	if err := checkNumbers(where, v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkNumbers refuses numbers a float64 cannot hold: stored as written,
// they could never be read back, and the record would become unreadable.
func checkNumbers(where string, v any) error {
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return errBadRequest("%s: number %.40s is out of range.", where, string(x))
		}
	case map[string]any:
		for k, e := range x {
			if err := checkNumbers(where+"."+k, e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkNumbers(fmt.Sprintf("%s[%d]", where, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}
