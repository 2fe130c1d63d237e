package main

import (
	"fmt"

	"github.com/tidwall/gjson"
)

const draftsPath = "/api/v1/drafts"

// draftBody asks for a reply to the example conversation.
const draftBody = `{"conversation":[{"author":"customer","text":"We are ready to upgrade, but the team seat limit looks confusing."}]}`

// draftCall is POST /api/v1/drafts for the example customer at base (the
// full crisp, whose crisp-default alias routes to the fake upstream).
func draftCall(base string) call {
	return call{url: base + draftsPath, body: []byte(draftBody), header: customerHeader(), check: validateDraft}
}

// validateDraft checks a draft answer: JSON with a non-empty draft and the
// id of its audit record.
func validateDraft(b []byte) error {
	if !gjson.ValidBytes(b) {
		return fmt.Errorf("draft is not JSON: %s", clip(b, 200))
	}
	for _, f := range []string{"draft", "audit_id"} {
		if v := gjson.GetBytes(b, f); v.Type != gjson.String || v.Str == "" {
			return fmt.Errorf("draft answer has no %s: %s", f, clip(b, 200))
		}
	}
	return nil
}
