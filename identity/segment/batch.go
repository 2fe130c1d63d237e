package segment

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crisphq/crisp/store"
)

// Store is where ingested batches go: the whole batch or none of it.
type Store interface {
	Apply(ctx context.Context, ws string, b store.Batch) (store.BatchResult, error)
}

// Invalidator drops cached customers and accounts after a write, so the
// proxy resolves what was just ingested (identity.Resolver implements it).
type Invalidator interface {
	InvalidateCustomer(ws, id string)
	InvalidateAccount(ws, id string)
}

// builder turns validated messages into one store batch and remembers which
// customers and accounts it touches.
type builder struct {
	source    string
	received  time.Time
	batch     store.Batch
	customers map[string]struct{}
	accounts  map[string]struct{}
	ignored   int // alias and anonymous-only messages
}

func newBuilder(source string, received time.Time) *builder {
	return &builder{source: source, received: received,
		customers: map[string]struct{}{}, accounts: map[string]struct{}{}}
}

// addAll adds messages oldest first: the store folds a batch's updates of
// one customer in slice order, so this makes the latest write win within a
// batch for columns (email, name, plan, ...) as it already does for traits.
func (b *builder) addAll(msgs []message) {
	slices.SortStableFunc(msgs, func(x, y message) int { return x.at.Compare(y.at) })
	for i := range msgs {
		b.add(&msgs[i])
	}
}

func (b *builder) add(m *message) {
	switch m.typ {
	case typeIdentify:
		u := store.CustomerUpdate{ID: m.userID, At: m.at}
		u.Email, _ = m.traits["email"].(string)
		u.Name, _ = m.traits["name"].(string)
		if u.Name == "" {
			first, _ := m.traits["firstName"].(string)
			last, _ := m.traits["lastName"].(string)
			u.Name = strings.TrimSpace(first + " " + last)
		}
		u.Traits = b.traits(m, "email", "name")
		b.batch.Customers = append(b.batch.Customers, u)
		b.customers[m.userID] = struct{}{}
	case typeGroup:
		u := store.AccountUpdate{ID: m.groupID, At: m.at}
		u.Name, _ = m.traits["name"].(string)
		u.Plan, _ = m.traits["plan"].(string)
		u.Subscription, _ = m.traits["subscription"].(string)
		u.Traits = b.traits(m, "name", "plan", "subscription")
		b.batch.Accounts = append(b.batch.Accounts, u)
		b.accounts[m.groupID] = struct{}{}
		if m.userID != "" {
			b.batch.Memberships = append(b.batch.Memberships,
				store.MembershipLink{CustomerID: m.userID, AccountID: m.groupID, Role: m.role})
			b.customers[m.userID] = struct{}{}
		}
	case typeTrack:
		b.batch.Events = append(b.batch.Events, store.Event{
			ID: m.id, CustomerID: m.userID, AccountID: m.accountID, Name: m.event, Properties: m.props,
			Timestamp: m.at, Source: b.source, ReceivedAt: b.received,
		})
	default:
		b.ignored++
	}
}

// traits lists a message's traits except the ones that fill columns (and
// "id", which is the row's own id), stamped with the message's time.
func (b *builder) traits(m *message, columns ...string) []store.Trait {
	out := make([]store.Trait, 0, len(m.traits))
	for k, v := range m.traits {
		if k == "id" || slices.Contains(columns, k) {
			continue
		}
		out = append(out, store.Trait{Key: k, Value: v, Source: b.source, UpdatedAt: m.at})
	}
	return out
}

func (b *builder) empty() bool {
	x := &b.batch
	return len(x.Accounts)+len(x.Customers)+len(x.Memberships)+len(x.Events) == 0
}

// invalidate drops every customer and account the batch wrote.
func (b *builder) invalidate(inv Invalidator, ws string) {
	if inv == nil {
		return
	}
	for id := range b.customers {
		inv.InvalidateCustomer(ws, id)
	}
	for id := range b.accounts {
		inv.InvalidateAccount(ws, id)
	}
}

// recent remembers the messageIds of the last identify and group calls a
// process stored. Events dedupe durably in the store; identify and group
// need this because a retry arrives later than the original, and the
// clock-skew correction would date it later too, so without it an old retry
// could win over a newer write. It is bounded: the oldest ids go first.
// The ring grows as ids come, so a crisp that takes no tracking calls
// spends nothing on it.
type recent struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	size int // the bound
	next int
}

func newRecent(n int) *recent {
	return &recent{ids: map[string]struct{}{}, size: n}
}

func (r *recent) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[key]
	return ok
}

func (r *recent) add(keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if _, ok := r.ids[k]; ok {
			continue
		}
		r.ids[k] = struct{}{}
		if len(r.ring) < r.size {
			r.ring = append(r.ring, k)
			continue
		}
		delete(r.ids, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
}
