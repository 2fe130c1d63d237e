package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/sse"
	"github.com/crisphq/crisp/store"
)

// streamer writes a UI stream as server-sent events: delta events
// ({"text":…}) as the model writes, then one done or error event. Headers
// go out with the first event, so a refusal decided before any text (a
// policy denial, say) is still an ordinary HTTP error.
type streamer struct {
	w       http.ResponseWriter
	sw      *sse.Writer
	started bool
}

func newStreamer(w http.ResponseWriter) *streamer { return &streamer{w: w} }

func (st *streamer) start() {
	if st.started {
		return
	}
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	st.w.WriteHeader(http.StatusOK)
	st.sw = sse.NewWriter(st.w)
	st.started = true
}

func (st *streamer) event(name string, v any) error {
	st.start()
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ev := sse.Named(name, data)
	return st.sw.Write(&ev)
}

func (st *streamer) delta(text string) error {
	return st.event("delta", map[string]string{"text": text})
}

// fail ends the stream with an error event, or answers with a plain error
// when nothing was sent yet.
func (st *streamer) fail(err error) {
	msg := map[string]any{"error": map[string]string{"message": refusal(err)}}
	if !st.started {
		writeJSON(st.w, statusOf(err), msg)
		return
	}
	_ = st.event("error", msg)
}

type streamDone struct {
	ContextFields []string       `json:"context_fields"`
	Redactions    map[string]int `json:"redactions,omitempty"`
	AuditID       string         `json:"audit_id"`
}

// draftTones are the tones a member may pick.
var draftTones = []string{"friendly", "concise", "formal"}

// maxDraftWords bounds a draft, as the design's example request does.
const maxDraftWords = 120

// draft streams an AI draft of the next reply (proxy.Draft).
func (s *Server) draft(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c, err := s.loadConversation(r)
	if err != nil {
		return err
	}
	tone := r.PostFormValue("tone")
	if !slices.Contains(draftTones, tone) {
		tone = draftTones[0]
	}
	req := proxy.DraftRequest{Conversation: transcript(c),
		Options: proxy.DraftOptions{Tone: tone, Language: "en", MaxWords: maxDraftWords}}
	st := newStreamer(w)
	res, err := s.opts.AI.Draft(r.Context(), s.use(v, c, "ai.draft"), req, st.delta)
	if err != nil {
		st.fail(err)
		return nil
	}
	_ = st.event("done", streamDone{ContextFields: nonNil(res.ContextFields), Redactions: res.Redactions, AuditID: res.AuditID})
	return nil
}

// maxQuestion bounds a question about an account.
const maxQuestion = 2000

// ask streams an answer about the conversation's customer and account
// (proxy.Ask).
func (s *Server) ask(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c, err := s.loadConversation(r)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.PostFormValue("question"))
	if q == "" || len(q) > maxQuestion {
		return errBadRequest("Ask a question of up to 2000 characters.")
	}
	st := newStreamer(w)
	res, err := s.opts.AI.Ask(r.Context(), s.use(v, c, "ai.ask"), q, st.delta)
	if err != nil {
		st.fail(err)
		return nil
	}
	_ = st.event("done", streamDone{ContextFields: nonNil(res.ContextFields), AuditID: res.AuditID})
	return nil
}

// transcript is the conversation as the draft request carries it.
func transcript(c store.Conversation) []proxy.Message {
	out := make([]proxy.Message, 0, len(c.Messages))
	for _, m := range c.Messages {
		out = append(out, proxy.Message{Author: m.Author, Text: m.Text})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
