package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
		if st := gjson.GetBytes(out, "store"); st.Type == gjson.True && s.opts.FlagsMode == FlagsReject {
			return errTrainingForbidden("store", `"store": true would let the provider keep this request.`)
		}
		if err := set("store", false, "store=false"); err != nil {
			return err
		}
	}
	if dp.OpenRouter {
		if s.opts.FlagsMode == FlagsReject {
			if dc := gjson.GetBytes(out, "provider.data_collection"); dc.Exists() && dc.String() != "deny" {
				return errTrainingForbidden("provider.data_collection", `only "deny" is allowed.`)
			}
			if zdr := gjson.GetBytes(out, "provider.zdr"); zdr.Type == gjson.False {
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
	for _, path := range []string{"user", "safety_identifier"} {
		if v := gjson.GetBytes(out, path); v.Type == gjson.String && v.Str != "" {
			if err := set(path, s.pseudonym(r, v.Str), path+"=pseudonym"); err != nil {
				return err
			}
		}
	}
	var metaErr error
	gjson.GetBytes(out, "metadata").ForEach(func(k, v gjson.Result) bool {
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
