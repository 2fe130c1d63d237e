package policy

import (
	"strings"
	"time"
)

// Input is everything a decision may read. The caller fills it per request;
// Decide never changes it.
type Input struct {
	User           User     // the member or workflow asking: user.*
	Customer       Customer // the person the request is about: customer.*
	Account        Account  // the customer's company or workspace: account.*
	Action         string   // ai.draft, ai.general, ai.agent.<tool>, …: action
	Request        Request  // request.model, request.provider
	SignedIdentity bool     // the customer identity hash or token verified: signedIdentity
	IdentityMethod string   // "hmac", "jwt" or "" when unsigned: identity.method
	Journey        []Event  // the customer's events, for customer.did(…)
	Now            time.Time
}

// User is who is asking.
type User struct {
	ID    string   // user.id
	Email string   // user.email
	Role  string   // user.role
	Teams []string // user.teams
	Kind  string   // user.kind: member | workflow
}

// Customer is the person a request is about. customer.id reads ID; any other
// customer.NAME reads Traits[NAME] (a dotted NAME also walks nested maps).
type Customer struct {
	ID     string
	Traits map[string]any
}

// Account is the customer's company or workspace; account.plan reads
// Traits["plan"].
type Account struct {
	ID     string
	Traits map[string]any
}

// Request is what the caller asked the provider for.
type Request struct {
	Model    string
	Provider string
}

// Event is one step of the customer's journey.
type Event struct {
	Name string
	At   time.Time
}

// did reports whether the journey holds the event within the window before
// now (window 0: ever). Names match ignoring case, as the checker does.
// Events stamped after now count: a clock a little ahead must not hide what
// the customer just did.
func (in *Input) did(name string, window time.Duration) bool {
	var since time.Time
	if window > 0 {
		now := in.Now
		if now.IsZero() {
			now = time.Now()
		}
		since = now.Add(-window)
	}
	for i := range in.Journey {
		e := &in.Journey[i]
		if (window == 0 || !e.At.Before(since)) && strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}
