package web

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

// useSupport is the action whose field visibilities govern what a member
// sees of a customer in the UI: the catalog's "support" use, with any
// policy field statement for support applied.
const useSupport = "support"

// subjectView is a customer and account as one member may see them.
type subjectView struct {
	sub    *identity.Subject
	fields policy.Fields
}

// view resolves a conversation's customer and the visibilities for the
// member's support use. On a failed check every field stays hidden.
func (s *Server) view(ctx context.Context, v *viewer, c store.Conversation) (*subjectView, error) {
	sub, err := s.opts.Resolver.Resolve(ctx, s.opts.Workspace, c.CustomerID, c.AccountID)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", c.CustomerID, err)
	}
	d, err := s.opts.AI.Check(ctx, s.opts.Workspace, proxy.CheckRequest{Member: v.Member.Email, Customer: c.CustomerID,
		Account: c.AccountID, Action: useSupport, SignedIdentity: c.IdentityVerified})
	if err != nil {
		return nil, fmt.Errorf("support visibility for %s: %w", c.CustomerID, err)
	}
	return &subjectView{sub: sub, fields: d.Fields}, nil
}

// value returns a field as the member may see it: formatted when shown,
// masked when masked, and ok false when hidden or missing.
func (sv *subjectView) value(name string) (text string, masked, ok bool) {
	if sv == nil {
		return "", false, false
	}
	vis := sv.fields.Visibility(name)
	if vis == catalog.Hide {
		return "", false, false
	}
	raw, ok := sv.sub.Field(name)
	if !ok {
		return "", false, false
	}
	text = formatValue(raw)
	if vis == catalog.Mask {
		return maskValue(text), true, true
	}
	return text, false, true
}

// text is value's text, or def when the member may not see the field.
func (sv *subjectView) text(name, def string) string {
	if t, _, ok := sv.value(name); ok && t != "" {
		return t
	}
	return def
}

// customerName names the customer for lists and headers.
func (sv *subjectView) customerName() string {
	return sv.text("customer.name", sv.text("customer.id", "Customer"))
}

func (sv *subjectView) accountName() string {
	return sv.text("account.name", sv.text("account.id", ""))
}

// formatValue renders a stored value for people.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil && len(x) >= 20 {
			return t.UTC().Format("Jan 2, 2006 15:04 UTC")
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + formatValue(x[k])
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

// maskValue keeps just enough to recognise a value: an email's first
// letter and domain, the last two characters of anything else.
func maskValue(s string) string {
	if user, domain, ok := strings.Cut(s, "@"); ok && user != "" {
		return string([]rune(user)[:1]) + "•••@" + domain
	}
	r := []rune(s)
	if len(r) <= 4 {
		return "••••"
	}
	return "••••" + string(r[len(r)-2:])
}
