package proxy

import (
	"net/http"
	"strconv"

	"github.com/crisphq/crisp/providers/openaiwire"
)

// serveModels lists the models this key may call, in OpenAI's shape.
func (s *Server) serveModels(w http.ResponseWriter, hr *http.Request) {
	r := &Request{ID: newRequestID(), Start: s.now(), Endpoint: "models", HTTP: hr, Header: w.Header(), dialect: dialectOpenAI}
	r.Header.Set("X-Request-Id", r.ID)
	caller, err := s.caller(hr.Context(), hr)
	if err != nil {
		e := asError(err)
		r.Status, r.ErrCode = e.Status, e.Code
		writeError(w, r.dialect, e)
		s.logRequest(r, e)
		return
	}
	r.Caller = caller
	var list []openaiwire.Model
	for _, m := range s.opts.Router.Models(hr.Context()) {
		if caller.MayCall(m.Target) {
			list = append(list, openaiwire.Model{ID: m.ID, Object: "model", OwnedBy: m.Provider})
		}
	}
	b := openaiwire.ModelList(list)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	r.Status = http.StatusOK
	n, _ := w.Write(b)
	r.BytesOut = int64(n)
	s.logRequest(r, nil)
}
