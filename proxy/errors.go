package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/crisphq/crisp/providers/anthropicwire"
	"github.com/crisphq/crisp/providers/openaiwire"
)

// Error is a refusal or failure with what the caller may read apart from
// what only the log may see. It is the one error type stages return for
// anything other than an internal fault.
type Error struct {
	Status  int
	Type    string // OpenAI's error type, e.g. invalid_request_error
	Code    string // DESIGN.md's code, e.g. invalid_api_key
	Param   string
	Message string // shown to the caller; never a key, a hidden value or a prompt
	Cause   error  // logged, never shown
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// The errors of DESIGN.md's public interface.
func errInvalidKey(cause error) *Error {
	return &Error{Status: 401, Type: "invalid_request_error", Code: "invalid_api_key",
		Message: "Incorrect or missing crisp API key. Send it as 'Authorization: Bearer <key>'.", Cause: cause}
}

func errInvalidRequest(param, format string, args ...any) *Error {
	return &Error{Status: 400, Type: "invalid_request_error", Code: "invalid_request_error", Param: param,
		Message: fmt.Sprintf(format, args...)}
}

func errTooLarge(limit int64) *Error {
	return &Error{Status: 413, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("Request body is larger than the %d-byte limit.", limit)}
}

func errModelNotFound(model string, cause error) *Error {
	return &Error{Status: 404, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("The model %q does not exist or is not available to this key.", model), Cause: cause}
}

func errPolicyDenied(format string, args ...any) *Error {
	return &Error{Status: 403, Type: "permission_error", Code: "policy_denied", Message: fmt.Sprintf(format, args...)}
}

func errUpstreamUnreachable(provider string, cause error) *Error {
	return &Error{Status: 502, Type: "api_error", Code: "upstream_unreachable",
		Message: fmt.Sprintf("The provider %q could not be reached.", provider), Cause: cause}
}

func errUpstreamTimeout(provider string, cause error) *Error {
	return &Error{Status: 504, Type: "api_error", Code: "upstream_timeout",
		Message: fmt.Sprintf("The provider %q did not answer in time.", provider), Cause: cause}
}

func errUpstreamBroken(provider string, cause error) *Error {
	return &Error{Status: 502, Type: "api_error", Code: "upstream_error",
		Message: fmt.Sprintf("The provider %q sent an answer crisp could not read.", provider), Cause: cause}
}

func errNotFound(path string) *Error {
	return &Error{Status: 404, Type: "invalid_request_error", Code: "not_found",
		Message: fmt.Sprintf("Unknown endpoint %s.", path)}
}

func errMethod(method, path string) *Error {
	return &Error{Status: 405, Type: "invalid_request_error", Code: "method_not_allowed",
		Message: fmt.Sprintf("%s is not allowed on %s.", method, path)}
}

func errInternal(cause error) *Error {
	return &Error{Status: 500, Type: "api_error", Code: "internal_error",
		Message: "Crisp failed to handle the request; nothing was sent to a provider.", Cause: cause}
}

// upstreamStatus is a provider's own error answer, passed through with its
// status and (scrubbed) body.
type upstreamStatus struct {
	Status      int
	ContentType string
	Body        []byte
}

func (e *upstreamStatus) Error() string { return "upstream status " + strconv.Itoa(e.Status) }

// asError maps anything a stage returned to what the caller is told. It is
// the one map from error to status.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errInternal(err)
}

// writeError answers in the caller's dialect. Headers crisp set so far
// (request id, audit id) stay.
func writeError(w http.ResponseWriter, d dialect, e *Error) {
	var body []byte
	switch d {
	case dialectAnthropic:
		body = anthropicwire.Error(e.Status, e.Message)
	default:
		var param any
		if e.Param != "" {
			param = e.Param
		}
		body = openaiwire.Error(e.Message, e.Type, e.Code, param)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// dialect is the API shape a caller speaks, which decides its error shape.
type dialect int

const (
	dialectOpenAI    dialect = iota
	dialectAnthropic         // POST /v1/messages
)
