package web

import (
	"errors"
	"net/http"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/crisphq/crisp/store"
)

// dummyHash is compared against when the email is unknown, so a wrong
// email takes as long as a wrong password. It is the bcrypt hash of a
// random string nobody knows.
const dummyHash = "$2a$10$m5/Zvob4Qfgys6OlaPOjjOdVFFe5HyONowv9jvW1X0NojQpejUOl."

type signinPage struct {
	Token string
	Next  string
	Email string
	Error string
	Demo  *demoHint
}

type demoHint struct {
	Emails   []string
	Admin    string
	Password string
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/ui/signin") {
		return "/ui/inbox"
	}
	return next
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := safeNext(r.URL.Query().Get("next"))
	if v, err := s.viewerFor(r); err == nil && v != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderSignin(w, r, http.StatusOK, signinPage{Next: next})
}

func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, status int, p signinPage) {
	p.Token = randomToken()
	s.setCookie(w, r, signinCookie, p.Token, "/ui/signin", 3600)
	p.Demo = s.demoHint(r)
	s.render(w, r, nil, status, "signin", "Sign in", p)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(c.Value, r.PostFormValue("csrf")) {
		s.renderSignin(w, r, http.StatusForbidden, signinPage{Next: next, Email: email,
			Error: "The sign-in form expired. Try again."})
		return
	}
	m, err := s.opts.Store.Member(r.Context(), s.opts.Workspace, email)
	hash := dummyHash
	switch {
	case err == nil && m.PasswordHash != "":
		hash = m.PasswordHash
	case err != nil && !errors.Is(err, store.ErrNotFound):
		s.fail(w, r, nil, err)
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(r.PostFormValue("password"))) != nil || hash == dummyHash {
		s.opts.Log.Info().Str("event", "signin_failed").Msg("web: sign-in refused")
		s.renderSignin(w, r, http.StatusUnauthorized, signinPage{Next: next, Email: email,
			Error: "That email and password do not match a member of this workspace."})
		return
	}
	token, _ := s.sessions.create(m.Email)
	s.setCookie(w, r, sessionCookie, token, "/", int(s.opts.SessionTTL.Seconds()))
	s.setCookie(w, r, signinCookie, "", "/ui/signin", -1)
	s.opts.Log.Info().Str("member", m.Email).Msg("web: signed in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.sessions.end(v.token)
	s.setCookie(w, r, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
	return nil
}

// demoHint lists the demo sign-ins on the sign-in page when the
// definitions carry the demo members (seed/members.json, as the example
// workspace does) and the store has them. Passwords are not checked: that
// would cost a bcrypt round per member, and the UI has no way to change
// one. It is worked out once per process.
func (s *Server) demoHint(r *http.Request) *demoHint {
	s.demoOnce.Do(func() {
		var f seedMembers
		if ok, err := readSeed(s.opts.Definitions.FS, SeedMembersFile, &f); !ok || err != nil || f.Password == "" {
			return
		}
		h := &demoHint{Password: f.Password}
		for _, sm := range f.Members {
			m, err := s.opts.Store.Member(r.Context(), s.opts.Workspace, sm.Email)
			if err != nil || m.PasswordHash == "" {
				continue
			}
			if m.Role == "admin" && h.Admin == "" {
				h.Admin = m.Email
			} else {
				h.Emails = append(h.Emails, m.Email)
			}
		}
		if len(h.Emails) > 0 || h.Admin != "" {
			s.demo = h
		}
	})
	return s.demo
}
