// Package httperr is the error of crisp's JSON APIs that are not the
// OpenAI-shaped proxy (the customers/accounts API, the tracking API): a
// refusal that keeps what the caller may read (Message, never a key or a
// value the caller may not see) apart from what only the log sees (Cause),
// and the one way it is written: {"error":{"message":…,"code":…}}.
package httperr

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error is a refusal or failure with its HTTP status and code.
type Error struct {
	Status  int
	Code    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

type body struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

// Write answers with e as JSON.
func Write(w http.ResponseWriter, e *Error) {
	var b body
	b.Error.Message, b.Error.Code = e.Message, e.Code
	out, _ := json.Marshal(b) // two strings always marshal
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(out)
}
