package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/crisphq/crisp/httperr"
)

// Error is the API's refusal; see package httperr.
type Error = httperr.Error

func errBadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

func errInvalidKey() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_api_key",
		Message: "Incorrect or missing crisp API key. Send it as 'Authorization: Bearer <key>'."}
}

func errForbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func errNotFound(path string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("Unknown endpoint %s.", path)}
}

func errNotFoundThing(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("No %s.", what)}
}

func errMethod(method, path string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed on %s.", method, path)}
}

func errTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "request_too_large",
		Message: fmt.Sprintf("Request body is larger than the %d-byte limit.", limit)}
}

func errInternal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error",
		Message: "Crisp failed to handle the request.", Cause: cause}
}

// fail writes err as {"error":{"message":…,"code":…}} and logs it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = errInternal(err)
	}
	if e.Status >= 500 {
		h.opts.Log.Error().Str("path", r.URL.Path).Int("status", e.Status).AnErr("cause", e.Cause).Msg("api failed")
	} else {
		h.opts.Log.Debug().Str("path", r.URL.Path).Int("status", e.Status).Str("code", e.Code).Msg("api refused")
	}
	httperr.Write(w, e)
}
