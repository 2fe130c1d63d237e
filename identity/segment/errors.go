package segment

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/crisphq/crisp/httperr"
)

// Error is the tracking API's refusal; see package httperr.
type Error = httperr.Error

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

// writeError answers {"error":{"message":…,"code":…}}.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	httperr.Write(w, e)
}
