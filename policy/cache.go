package policy

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// Cache holds decisions keyed by exactly the inputs a decision reads: the
// engine that made it, the action, and the value of every slot the action's
// rules and conditional field statements read. Nothing else about the input
// can change such a decision, so a hit is the decision Decide would make.
//
// Each engine compiled WithCache(c) draws a fresh generation from c and
// prefixes its keys with it, so after a reload no entry of the old policy
// can ever match. Entries are found by a 64-bit hash of the key but store
// the whole key, and a hit compares it: a collision is a miss, never
// another input's decision.
//
// A Cache runs ristretto's goroutines; Close stops them.
type Cache struct {
	c    *ristretto.Cache[uint64, *cached]
	gen  atomic.Uint64
	seed maphash.Seed
}

type cached struct {
	key string // the whole key, compared on every hit
	d   Decision
}

// NewCache makes a cache of up to maxEntries decisions.
func NewCache(maxEntries int64) (*Cache, error) {
	if maxEntries <= 0 {
		return nil, fmt.Errorf("policy: cache size must be positive, got %d", maxEntries)
	}
	c, err := ristretto.NewCache(&ristretto.Config[uint64, *cached]{
		NumCounters:        maxEntries * 10,
		MaxCost:            maxEntries,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("policy: decision cache: %w", err)
	}
	return &Cache{c: c, seed: maphash.MakeSeed()}, nil
}

// Close stops the cache's goroutines; later lookups miss.
func (c *Cache) Close() { c.c.Close() }

// Wait blocks until pending writes are visible; for tests.
func (c *Cache) Wait() { c.c.Wait() }

func (c *Cache) nextGen() uint64 { return c.gen.Add(1) }

// The key is hashed here rather than by ristretto so it can stay on the
// caller's stack: a hit allocates nothing.
func (c *Cache) get(key []byte) (*cached, bool) {
	v, ok := c.c.Get(maphash.Bytes(c.seed, key))
	if !ok || v.key != string(key) {
		return nil, false
	}
	return v, true
}

func (c *Cache) set(key []byte, d Decision) {
	c.c.Set(maphash.Bytes(c.seed, key), &cached{key: string(key), d: d}, 1)
}

// appendKey encodes the cache key for a decision of plan p; ok is false when
// a value read cannot be encoded exactly (such as a map trait), and then the
// decision is not cached.
func (e *Engine) appendKey(b []byte, p *plan, in *Input) ([]byte, bool) {
	b = binary.LittleEndian.AppendUint64(b, e.gen)
	b = appendString(b, in.Action)
	for _, i := range p.reads {
		s := &e.slots[i]
		switch s.kind {
		case slotUserID:
			b = appendString(b, in.User.ID)
		case slotUserEmail:
			b = appendString(b, in.User.Email)
		case slotUserRole:
			b = appendString(b, in.User.Role)
		case slotUserKind:
			b = appendString(b, in.User.Kind)
		case slotUserTeams:
			b = appendUvarint(append(b, 'l'), uint64(len(in.User.Teams)))
			for _, t := range in.User.Teams {
				b = appendString(b, t)
			}
		case slotAction:
			// already in the key
		case slotModel:
			b = appendString(b, in.Request.Model)
		case slotProvider:
			b = appendString(b, in.Request.Provider)
		case slotSigned:
			b = appendBool(b, in.SignedIdentity)
		case slotIdentityMethod:
			b = appendString(b, in.IdentityMethod)
		case slotCustomerID:
			b = appendString(b, in.Customer.ID)
		case slotAccountID:
			b = appendString(b, in.Account.ID)
		case slotCustomerTrait, slotAccountTrait:
			traits := in.Customer.Traits
			if s.kind == slotAccountTrait {
				traits = in.Account.Traits
			}
			var ok bool
			if b, ok = appendValue(b, lookupTrait(traits, s.key), 0); !ok {
				return b, false
			}
		case slotVisibility:
			// follows from the action and the other slots
		default:
			return b, false
		}
	}
	return b, true
}

func appendUvarint(b []byte, n uint64) []byte { return binary.AppendUvarint(b, n) }

func appendString(b []byte, s string) []byte {
	return append(appendUvarint(append(b, 's'), uint64(len(s))), s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 't')
	}
	return append(b, 'f')
}

// appendValue encodes a trait as the activation reads it: numbers as the
// double they become, so 3 and 3.0 share a key exactly when they decide
// alike.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if f, ok := number(v); ok {
		return binary.LittleEndian.AppendUint64(append(b, 'n'), math.Float64bits(f)), true
	}
	switch v := v.(type) {
	case nil:
		return append(b, 'z'), true
	case string:
		return appendString(b, v), true
	case bool:
		return appendBool(b, v), true
	case []string:
		b = appendUvarint(append(b, 'l'), uint64(len(v)))
		for _, s := range v {
			b = appendString(b, s)
		}
		return b, true
	case []any:
		if depth > maxTraitDepth {
			return b, false
		}
		b = appendUvarint(append(b, 'l'), uint64(len(v)))
		for _, x := range v {
			var ok bool
			if b, ok = appendValue(b, x, depth+1); !ok {
				return b, false
			}
		}
		return b, true
	}
	return b, false
}
