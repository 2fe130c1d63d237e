package policy

import (
	"strings"

	"github.com/crisphq/crisp/catalog"
)

// Visibility is what a field resolves to for one decision: the catalog's
// type, so callers need no conversion.
type Visibility = catalog.Visibility

// The visibilities, re-exported for callers of this package.
const (
	Show = catalog.Show
	Mask = catalog.Mask
	Hide = catalog.Hide
)

// Catalog is what policy needs from the field catalog; *catalog.Catalog
// satisfies it.
type Catalog interface {
	// Fields lists every field definition, such as account.privateRevenue.
	Fields() []catalog.Field
	// Events lists the journey event definitions, such as "Visited pricing".
	Events() []catalog.Event
	// Default is a field's visibility for a use (or an action's use) before
	// any field statement; anything unknown is Hide.
	Default(field, use string) Visibility
}

var _ Catalog = (*catalog.Catalog)(nil)

func fieldNames(c Catalog) []string {
	var out []string
	for _, f := range c.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func eventNames(c Catalog) []string {
	var out []string
	for _, e := range c.Events() {
		out = append(out, e.Name)
	}
	return out
}

// canonicalEvent finds the catalog's spelling of an event, ignoring case, so
// customer.did("visited pricing") reads the "Visited pricing" event.
func canonicalEvent(name string, known []string) (string, bool) {
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// restrictiveness orders visibilities; an unknown value counts as hidden so a
// surprise never widens what a provider sees.
func restrictiveness(v Visibility) int {
	switch v {
	case Show:
		return 0
	case Mask:
		return 1
	}
	return 2
}

func verbVisibility(v Verb) Visibility {
	switch v {
	case VerbShow:
		return Show
	case VerbMask:
		return Mask
	}
	return Hide
}
