package catalog

import (
	"fmt"
	"strings"
)

// Visibility is how a field or event may appear for one use. Values are
// ordered from closed to open, so a > b means a shows more than b; the zero
// value is Hide so that anything unset fails closed.
type Visibility uint8

const (
	Hide Visibility = iota // never leaves crisp for this use
	Mask                   // replaced by a reversible placeholder
	Show                   // sent as is
)

// String returns "hidden", "masked" or "shown", the words policies and the
// API use for a resolved visibility.
func (v Visibility) String() string {
	switch v {
	case Hide:
		return "hidden"
	case Mask:
		return "masked"
	case Show:
		return "shown"
	}
	return fmt.Sprintf("Visibility(%d)", uint8(v))
}

// Verb returns "hide", "mask" or "show", the catalog file's spelling.
func (v Visibility) Verb() string {
	switch v {
	case Hide:
		return "hide"
	case Mask:
		return "mask"
	case Show:
		return "show"
	}
	return fmt.Sprintf("Visibility(%d)", uint8(v))
}

// ParseVisibility parses the catalog file's spelling: show, mask or hide.
func ParseVisibility(s string) (Visibility, error) {
	switch s {
	case "hide":
		return Hide, nil
	case "mask":
		return Mask, nil
	case "show":
		return Show, nil
	}
	return Hide, fmt.Errorf("unknown visibility %q (want show, mask or hide)", s)
}

// MarshalText writes String's form, as the API reports visibilities.
func (v Visibility) MarshalText() ([]byte, error) {
	if v > Show {
		return nil, fmt.Errorf("invalid visibility %d", uint8(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText accepts either spelling: show|mask|hide or
// shown|masked|hidden.
func (v *Visibility) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case "shown":
		*v = Show
	case "masked":
		*v = Mask
	case "hidden":
		*v = Hide
	default:
		p, err := ParseVisibility(s)
		if err != nil {
			return err
		}
		*v = p
	}
	return nil
}

// Uses: the kinds of consumer a visibility applies to.
const (
	UseSupport    = "support"    // people in the support tool
	UseAI         = "ai"         // anything sent to an LLM provider
	UseReporting  = "reporting"  // exports and dashboards
	UseAutomation = "automation" // workflows acting without a person
)

// AllUses returns the uses in their canonical order.
func AllUses() []string {
	return []string{UseSupport, UseAI, UseReporting, UseAutomation}
}

// UseOf maps a use or an action to its use: "ai" and "ai.draft" both give
// "ai". It returns "" for anything else.
func UseOf(action string) string {
	head, _, _ := strings.Cut(action, ".")
	switch head {
	case UseSupport, UseAI, UseReporting, UseAutomation:
		return head
	}
	return ""
}

// Visibilities holds one Visibility per use. Its zero value hides
// everything.
type Visibilities struct {
	Support    Visibility `json:"support"`
	AI         Visibility `json:"ai"`
	Reporting  Visibility `json:"reporting"`
	Automation Visibility `json:"automation"`
}

// For returns the visibility for a use or an action (see UseOf); an unknown
// use is Hide.
func (v Visibilities) For(use string) Visibility {
	if p := v.ptr(UseOf(use)); p != nil {
		return *p
	}
	return Hide
}

func (v *Visibilities) ptr(use string) *Visibility {
	switch use {
	case UseSupport:
		return &v.Support
	case UseAI:
		return &v.AI
	case UseReporting:
		return &v.Reporting
	case UseAutomation:
		return &v.Automation
	}
	return nil
}

// Classification is how sensitive a field or event is.
type Classification string

const (
	Public       Classification = "public"
	Internal     Classification = "internal"
	Confidential Classification = "confidential"
	Secret       Classification = "secret"
)

// Source is the system a field or event comes from.
type Source string

const (
	SourceBilling          Source = "billing"
	SourceCRM              Source = "crm"
	SourceProductAnalytics Source = "product_analytics"
	SourceInternalAPI      Source = "internal_api"
	SourceSupport          Source = "support"
	SourceSegment          Source = "segment"
)

// Type is a field's value type.
type Type string

const (
	TypeString Type = "string"
	TypeNumber Type = "number"
	TypeBool   Type = "bool"
	TypeTime   Type = "time"
	TypeEnum   Type = "enum" // one of Field.Values
	TypeList   Type = "list"
)

// The allowed spellings, in the order error messages list them.
func classifications() []string {
	return []string{string(Public), string(Internal), string(Confidential), string(Secret)}
}

func sources() []string {
	return []string{string(SourceBilling), string(SourceCRM), string(SourceProductAnalytics),
		string(SourceInternalAPI), string(SourceSupport), string(SourceSegment)}
}

func types() []string {
	return []string{string(TypeString), string(TypeNumber), string(TypeBool), string(TypeTime),
		string(TypeEnum), string(TypeList)}
}
