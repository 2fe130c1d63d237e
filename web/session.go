package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"
)

// Cookie names.
const (
	sessionCookie = "crisp_session"
	// signinCookie carries the sign-in form's CSRF token (double submit),
	// since there is no session to hold it yet.
	signinCookie = "crisp_signin"
)

// session is one signed-in member. Only the hash of its token is kept, so
// the map holds nothing that could be replayed as a cookie.
type session struct {
	email   string
	csrf    string
	expires time.Time
}

// sessions live in memory: signing in again after a restart is the price.
// Several replicas will need them in the store (or sticky sessions); see
// the package doc.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session // sha256(token) hex → session
	ttl time.Duration
	now func() time.Time
}

// maxSessions bounds memory: past it, expired sessions are swept, and if
// that is not enough the oldest to expire goes.
const maxSessions = 10_000

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for email and returns its cookie token.
func (s *sessions) create(email string) (string, *session) {
	token := randomToken()
	sess := &session{email: email, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.sweepLocked()
	}
	s.m[tokenKey(token)] = sess
	return token, sess
}

// sweepLocked drops expired sessions, then the soonest to expire until
// there is room.
func (s *sessions) sweepLocked() {
	now := s.now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	for len(s.m) >= maxSessions {
		var oldest string
		var at time.Time
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
}

// get returns the live session for a cookie token.
func (s *sessions) get(token string) (*session, bool) {
	if token == "" {
		return nil, false
	}
	k := tokenKey(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if !ok {
		return nil, false
	}
	if s.now().After(sess.expires) {
		delete(s.m, k)
		return nil, false
	}
	return sess, true
}

// end signs a session out.
func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, tokenKey(token))
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
