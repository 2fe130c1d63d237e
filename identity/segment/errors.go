package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error is a refusal with what the caller may read (Message, never a write
// key or a value) apart from what only the log sees (Cause).
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

func errBadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

func errWriteKey() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_write_key",
		Message: "Incorrect or missing write key. Send it as the Basic auth user, as Segment's SDKs do."}
}

func errTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
		Message: fmt.Sprintf("Batch is larger than the %d-byte limit (ingest.max_batch_bytes); nothing of it was stored. Send smaller batches.", limit)}
}

func errNotFound(path string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found",
		Message: fmt.Sprintf("Unknown endpoint %s; crisp serves /ingest/v1/identify, group, track, page, screen, alias and batch.", path)}
}

func errMethod(method string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed; the tracking API takes POST.", method)}
}

func errInternal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error",
		Message: "Crisp could not store the batch; nothing of it was stored. Retry later.", Cause: cause}
}

// asError maps anything serving returned to what the caller is told.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errInternal(err)
}

type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

// writeError answers {"error":{"message":…,"code":…}}.
func writeError(w http.ResponseWriter, e *Error) {
	var body errorBody
	body.Error.Message, body.Error.Code = e.Message, e.Code
	b, _ := json.Marshal(body) // two strings always marshal
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if e.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
