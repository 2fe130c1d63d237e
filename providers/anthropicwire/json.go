package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// marshal encodes v without HTML escaping, so "<" and "&" in text reach the
// client (and the redactor) as written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// mustJSON is marshal for values built here from plain strings, numbers and
// json.RawMessage this package validated.
func mustJSON(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic("anthropicwire: " + err.Error())
	}
	return b
}

// decodeError turns a json.Unmarshal error on the request into a
// RequestError that names the field.
func decodeError(err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return &RequestError{Message: "request body must be a JSON object"}
		}
		return &RequestError{Message: fmt.Sprintf("%s: expected %s, got %s", typ.Field, goTypeName(typ.Type.Kind().String()), typ.Value)}
	}
	return &RequestError{Message: "request body is not valid JSON"}
}

func goTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "float32", "float64":
		return "number"
	}
	return "integer"
}

// isNull reports an absent or null raw value.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// isString reports a raw value that is a JSON string, so the common case
// decodes once instead of failing as one type and retrying as another.
func isString(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '"'
}
