package anthropicwire

import (
	"errors"
	"net/http"
)

// RequestError is a request Anthropic's API would refuse with 400
// invalid_request_error. Its Message is safe to show the caller: it names
// the field and the problem, quoting at most a role, block or tool type
// name from the body, never message content.
type RequestError struct {
	Message string
}

func (e *RequestError) Error() string { return "anthropicwire: invalid request: " + e.Message }

// ErrUpstream marks a chat completion (or chunk) that cannot be translated:
// not JSON, no choices, an in-band error object, tool arguments that are not
// a JSON object. The proxy answers it as 502 (or a StreamError mid-stream).
var ErrUpstream = errors.New("anthropicwire: bad upstream response")

// ErrorType is Anthropic's error type for an HTTP status.
func ErrorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		// Anthropic documents only 500 api_error and 529 overloaded_error;
		// 502 and 503 are crisp's own (upstream, audit) and not an overload.
		return "api_error"
	}
	// The docs: "We may also use this error type for other 4XX status codes".
	return "invalid_request_error"
}

type errorBody struct {
	Type  string      `json:"type"`
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Error is Anthropic's error body for status:
// {"type":"error","error":{"type":ErrorType(status),"message":message}}.
func Error(status int, message string) []byte {
	return mustJSON(errorBody{Type: "error", Error: errorObject{Type: ErrorType(status), Message: message}})
}

// StreamError is the event that ends a stream after headers were sent
// ("event: error", an api_error). The SDKs raise it as an API error.
func StreamError(message string) Event {
	return Event{Name: "error", Data: Error(http.StatusInternalServerError, message)}
}

// Ping is a keep-alive event; clients ignore it.
func Ping() Event { return Event{Name: "ping", Data: []byte(`{"type":"ping"}`)} }
