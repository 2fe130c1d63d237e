package audit

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Handler serves the review API to workspace admins:
//
//	GET /api/v1/audit            ?filters → {"records":[…],"next_cursor":"…"}
//	GET /api/v1/audit/{id}       one record
//	GET /api/v1/audit/export     ?format=jsonl|csv&filters → the records, oldest first
//	GET /api/v1/audit/verify     the chain check (VerifyResult; ok false when broken)
//
// auth names the caller's workspace and whether they are an admin; an error
// is 401, a member is 403. Filters are ParseFilter's parameters. Errors are
// {"error":{"message","type","code"}}.
func Handler(l *Log, auth func(r *http.Request) (workspace string, admin bool, err error)) http.Handler {
	h := &handler{l: l, auth: auth}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/audit", h.admin(h.list))
	mux.HandleFunc("GET /api/v1/audit/export", h.admin(h.export))
	mux.HandleFunc("GET /api/v1/audit/verify", h.admin(h.verify))
	mux.HandleFunc("GET /api/v1/audit/{id}", h.admin(h.get))
	return mux
}

type handler struct {
	l    *Log
	auth func(r *http.Request) (string, bool, error)
}

func (h *handler) admin(next func(w http.ResponseWriter, r *http.Request, ws string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ws, admin, err := h.auth(r)
		switch {
		case err != nil:
			writeError(w, http.StatusUnauthorized, "authentication_error", "invalid_api_key", "a valid crisp key or session is required")
		case !admin:
			writeError(w, http.StatusForbidden, "permission_error", "forbidden", "only workspace admins may review the audit trail")
		default:
			w.Header().Set("Cache-Control", "no-store")
			next(w, r, ws)
		}
	}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request, ws string) {
	f, err := ParseFilter(r.URL.Query(), h.l.opts.Now())
	if err != nil {
		h.fail(w, err)
		return
	}
	f.Workspace = ws
	recs, next, err := h.l.List(r.Context(), f)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Records    []Record `json:"records"`
		NextCursor string   `json:"next_cursor"`
	}{recs, next})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request, ws string) {
	rec, err := h.l.Get(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request, ws string) {
	res, err := h.l.Verify(r.Context(), ws)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *handler) export(w http.ResponseWriter, r *http.Request, ws string) {
	q := r.URL.Query()
	f, err := ParseFilter(q, h.l.opts.Now())
	if err != nil {
		h.fail(w, err)
		return
	}
	format := q.Get("format")
	switch format {
	case "", FormatJSONL:
		format = FormatJSONL
		w.Header().Set("Content-Type", "application/x-ndjson")
	case FormatCSV:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	default:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_request_error", "format must be jsonl or csv")
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+fileSafe(ws)+`.`+format+`"`)
	// Once the first byte is out an error can only cut the body short; the
	// missing trailing newline (or CSV row) shows it.
	if err := h.l.Export(r.Context(), ws, f, format, w); err != nil {
		h.l.log.Error().Err(err).Str("workspace", ws).Msg("audit export failed")
	}
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_request_error", err.Error())
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "no such audit record")
	default:
		h.l.log.Error().Err(err).Msg("audit review failed")
		writeError(w, http.StatusServiceUnavailable, "server_error", "audit_unavailable", "the audit trail cannot be read right now")
	}
}

// fileSafe keeps a workspace id usable inside a quoted header parameter.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"message":"encoding failed","type":"server_error","code":"internal_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	e.Error.Message, e.Error.Type, e.Error.Code = msg, typ, code
	writeJSON(w, status, e)
}
