package proxy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/crisphq/crisp/providers"
)

// Flags modes: rewrite sets the provider's no-training/no-storage fields;
// reject refuses a request that asks for the opposite.
const (
	FlagsRewrite = "rewrite"
	FlagsReject  = "reject"
)

func errTrainingForbidden(param, why string) *Error {
	return &Error{Status: 400, Type: "invalid_request_error", Code: "training_forbidden", Param: param,
		Message: "Crisp forbids provider training and storage: " + why}
}

// providerFlags forces no training and no storage wherever the provider has
// a request field for it, and replaces raw identifiers the caller put in
// user, safety_identifier and metadata with stable pseudonyms, so the
// provider can still tell users apart without learning who they are.
func (s *Server) providerFlags(_ context.Context, r *Request) error {
	dp := providers.DataPolicyOf(r.Route.Provider)
	r.Contractual = dp.Contractual
	// The top level was scanned once (by parse, or here when a stage since
	// rewrote the body): a lookup per field would scan the whole body for
	// each absent one.
	top := r.top.of(r.Out)
	store, user, safety, meta, provider := top.store, top.user, top.safety, top.meta, top.provider
	for _, obj := range []struct {
		name string
		v    gjson.Result
	}{{"metadata", meta}, {"provider", provider}} {
		if k := dupKey(obj.v); k != "" {
			return errInvalidRequest(obj.name+"."+k, "The request body gives %q more than once.", obj.name+"."+k)
		}
	}
	out := r.Out
	set := func(path string, v any, flag string) error {
		var err error
		if out, err = sjson.SetBytes(out, path, v); err != nil {
			return errInternal(err)
		}
		r.Flags = append(r.Flags, flag)
		return nil
	}
	if dp.StoreFalse[r.Endpoint] {
		if store.Type == gjson.True && s.opts.FlagsMode == FlagsReject {
			return errTrainingForbidden("store", `"store": true would let the provider keep this request.`)
		}
		// Every request takes this one, so it is spliced in at the offset
		// the scan above found rather than set by path (first, while the
		// offsets hold).
		if store.Type != gjson.False {
			var ok bool
			if out, ok = setTopLevel(out, "store", "false", store); !ok {
				return errInternal(fmt.Errorf("flags: cannot set store in the request body"))
			}
		}
		r.Flags = append(r.Flags, "store=false")
	}
	if dp.OpenRouter {
		if s.opts.FlagsMode == FlagsReject {
			if dc := provider.Get("data_collection"); dc.Exists() && dc.String() != "deny" {
				return errTrainingForbidden("provider.data_collection", `only "deny" is allowed.`)
			}
			if zdr := provider.Get("zdr"); zdr.Type == gjson.False {
				return errTrainingForbidden("provider.zdr", "zero data retention cannot be turned off.")
			}
		}
		if err := set("provider.data_collection", "deny", "provider.data_collection=deny"); err != nil {
			return err
		}
		if err := set("provider.zdr", true, "provider.zdr=true"); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		path string
		v    gjson.Result
	}{{"user", user}, {"safety_identifier", safety}} {
		if f.v.Type == gjson.String && f.v.Str != "" {
			if err := set(f.path, s.pseudonym(r, f.v.Str), f.path+"=pseudonym"); err != nil {
				return err
			}
		}
	}
	var metaErr error
	meta.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.String && carriesIdentifier(r, k.Str, v.Str) {
			metaErr = set("metadata."+escapePath(k.Str), s.pseudonym(r, v.Str), "metadata."+k.Str+"=pseudonym")
		}
		return metaErr == nil
	})
	if metaErr != nil {
		return metaErr
	}
	r.Out = out
	return nil
}

// setTopLevel gives body's top-level key the raw JSON value: in place when
// cur (the key's current value, read from body) exists, else added before
// the object's closing brace.
func setTopLevel(body []byte, key, raw string, cur gjson.Result) ([]byte, bool) {
	if cur.Exists() {
		from, to := cur.Index, cur.Index+len(cur.Raw)
		if from <= 0 || to > len(body) || string(body[from:to]) != cur.Raw {
			return body, false
		}
		out := make([]byte, 0, len(body)-len(cur.Raw)+len(raw))
		return append(append(append(out, body[:from]...), raw...), body[to:]...), true
	}
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return body, false
	}
	sep := ","
	if len(bytes.TrimSpace(body[bytes.IndexByte(body, '{')+1:end])) == 0 {
		sep = "" // an empty object
	}
	out := make([]byte, 0, len(body)+len(key)+len(raw)+4)
	out = append(append(out, body[:end]...), sep+`"`+key+`":`+raw...)
	return append(out, body[end:]...), true
}

// dupKey returns the first key an object gives twice, or "": crisp would
// rewrite one while the provider might read the other.
func dupKey(obj gjson.Result) string {
	if !obj.IsObject() {
		return ""
	}
	seen := map[string]bool{}
	dup := ""
	obj.ForEach(func(k, _ gjson.Result) bool {
		if seen[k.Str] {
			dup = k.Str
			return false
		}
		seen[k.Str] = true
		return true
	})
	return dup
}

// identifierKeys are metadata keys whose values name a person or account.
var identifierKeys = map[string]bool{
	"user": true, "user_id": true, "userid": true, "email": true, "customer": true, "customer_id": true,
	"account": true, "account_id": true, "end_user": true, "end_user_id": true,
}

// carriesIdentifier reports a metadata value that names someone: under an
// identifier key, an email address, or this customer's or account's id.
func carriesIdentifier(r *Request, key, value string) bool {
	if identifierKeys[strings.ToLower(key)] || strings.Contains(value, "@") {
		return true
	}
	if r.Subject != nil && (value == r.Subject.Customer.ID || (value != "" && value == r.Subject.Account.ID)) {
		return true
	}
	return false
}

// pseudonym is a stable, keyed, one-way stand-in for an identifier.
func (s *Server) pseudonym(r *Request, value string) string {
	m := hmac.New(sha256.New, s.opts.PseudonymKey)
	m.Write([]byte(r.Caller.Workspace))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return "crisp_" + hex.EncodeToString(m.Sum(nil))[:20]
}

// escapePath escapes a key for sjson/gjson paths.
func escapePath(k string) string {
	r := strings.NewReplacer(".", `\.`, "*", `\*`, "?", `\?`, "|", `\|`, "#", `\#`, "@", `\@`)
	return r.Replace(k)
}
