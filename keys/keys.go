// Package keys owns crisp API keys: minting them, hashing them, and finding
// the caller behind a presented key. Only a key's sha256 and a short prefix
// are ever stored; the key itself is shown once, when it is made.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"path"
	"strings"
)

// PrefixLen is how much of a key is kept in clear, to find its record and to
// let people recognise it in lists. It is far too short to guess the rest.
const PrefixLen = 12

// Caller is who is asking: the member or workflow a key belongs to.
type Caller struct {
	Workspace     string
	KeyID         string
	Name          string
	Kind          string // member | workflow
	Member        string // the member's email for member keys
	Role          string
	Teams         []string
	Actions       []string // patterns such as ai.*
	DefaultAction string
	Models        []string // patterns; empty means all
}

// MayUse reports whether the caller's key allows action.
func (c *Caller) MayUse(action string) bool { return matchAny(c.Actions, action, false) }

// MayCall reports whether the caller's key allows model.
func (c *Caller) MayCall(model string) bool { return matchAny(c.Models, model, true) }

func matchAny(patterns []string, s string, emptyMeansAll bool) bool {
	if len(patterns) == 0 {
		return emptyMeansAll
	}
	for _, p := range patterns {
		if p == s || p == "*" {
			return true
		}
		if strings.Contains(p, "*") {
			if ok, _ := path.Match(p, s); ok {
				return true
			}
			// path.Match's * stops at '/', but model names like
			// vendor/model should match vendor/* and *.
			if strings.HasSuffix(p, "*") && strings.HasPrefix(s, strings.TrimSuffix(p, "*")) {
				return true
			}
		}
	}
	return false
}

// Record is a stored key: its hash, its prefix and who it belongs to.
type Record struct {
	Prefix string
	SHA256 [32]byte
	Caller Caller
}

// New mints a key: "ck_" and 43 characters of base62 (256 bits).
func New() (string, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 43)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	// 62*4 = 248: rejecting bytes above it keeps every character uniform.
	out := make([]byte, 0, 46)
	out = append(out, "ck_"...)
	for len(out) < 46 {
		for _, c := range b {
			if c < 248 && len(out) < 46 {
				out = append(out, alphabet[c%62])
			}
		}
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
	}
	return string(out), nil
}

// Hash is the stored form of a key.
func Hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// HashHex is Hash as lowercase hex, as configuration holds it.
func HashHex(key string) string {
	h := Hash(key)
	return hex.EncodeToString(h[:])
}

// Prefix is the clear part of a key.
func Prefix(key string) string {
	if len(key) <= PrefixLen {
		return key
	}
	return key[:PrefixLen]
}

// Matches compares a presented key with a record in constant time.
func (r *Record) Matches(key string) bool {
	h := Hash(key)
	return subtle.ConstantTimeCompare(h[:], r.SHA256[:]) == 1
}
