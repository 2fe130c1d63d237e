package policy

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// Cache holds decisions keyed by exactly the inputs a decision reads: the
// plan (one engine's rules for one action) and the value of every slot its
// rules and conditional field statements read. Nothing else about the input
// can change such a decision, so a hit is the decision Decide would make.
//
// Every compiled engine has plans of its own, so after a reload no entry of
// the old policy can ever match. An entry is found by a 64-bit hash of the
// plan and the values, but holds the plan and the values themselves, and a
// hit compares them: a collision is a miss, never another input's decision.
//
// A Cache runs ristretto's goroutines; Close stops them.
type Cache struct {
	c    *ristretto.Cache[uint64, *cached]
	ids  atomic.Uint64 // numbers plans, to seed their hashes apart
	seed maphash.Seed
}

type cached struct {
	p    *plan
	vals []string // the key's values, as keyVals gives them
	d    Decision
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

// planHash starts the hash of every key of a new plan.
func (c *Cache) planHash(action string) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], c.ids.Add(1))
	return maphash.String(c.seed, action) ^ maphash.Bytes(c.seed, b[:])
}

// The key is never built: a lookup hashes the values the plan reads one by
// one and a hit compares them one by one with the entry's, so nothing is
// allocated and little is copied. Encoded values go through a small
// scratch buffer on the caller's stack.

// hash mixes the plan's seeded start with every value. It is a quick mix,
// not a keyed hash: a collision costs a miss (entries are compared), and the
// values are a handful of short strings.
func (c *Cache) hash(p *plan, in *Input, scratch []byte) (uint64, bool) {
	h := p.keyHash
	for i := range p.keySlots {
		s, b, ok := keyValue(&p.keySlots[i], in, scratch[:0])
		if !ok {
			return 0, false
		}
		if b != nil {
			h = mixBytes(h, b)
		} else {
			h = mixString(h, s)
		}
	}
	return h, true
}

const mixPrime = 0x9E3779B97F4A7C15

func mixString(h uint64, s string) uint64 {
	h = (h ^ uint64(len(s))) * mixPrime
	for ; len(s) >= 8; s = s[8:] {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = bits.RotateLeft64(h^v, 29) * mixPrime
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v |= uint64(s[i]) << (8 * i)
	}
	return bits.RotateLeft64(h^v, 29) * mixPrime
}

func mixBytes(h uint64, b []byte) uint64 {
	h = (h ^ uint64(len(b))) * mixPrime
	for ; len(b) >= 8; b = b[8:] {
		h = bits.RotateLeft64(h^binary.LittleEndian.Uint64(b), 29) * mixPrime
	}
	var v uint64
	for i := range b {
		v |= uint64(b[i]) << (8 * i)
	}
	return bits.RotateLeft64(h^v, 29) * mixPrime
}

func (c *Cache) get(p *plan, in *Input, h uint64, scratch []byte) (*cached, bool) {
	v, ok := c.c.Get(h)
	if !ok || v.p != p {
		return nil, false
	}
	for i := range p.keySlots {
		s, b, _ := keyValue(&p.keySlots[i], in, scratch[:0])
		if b != nil && string(b) != v.vals[i] || b == nil && s != v.vals[i] {
			return nil, false
		}
	}
	return v, true
}

func (c *Cache) set(p *plan, in *Input, h uint64, d Decision) {
	vals := make([]string, len(p.keySlots))
	for i := range p.keySlots {
		s, b, _ := keyValue(&p.keySlots[i], in, nil)
		if b != nil {
			vals[i] = string(b)
		} else {
			vals[i] = strings.Clone(s) // a copy: the entry must not pin the input
		}
	}
	c.c.Set(h, &cached{p: p, vals: vals, d: d}, 1)
}

// keySlot is one value the cache key holds: a slot's kind, and for traits
// its key.
type keySlot struct {
	kind slotKind
	key  []string
}

// keySlots lists, for a plan, the values its key holds: every slot read
// except those that follow from the action (visibilities, the action
// itself). ok is false when a read cannot be keyed (the clock).
func (e *Engine) keySlots(reads []int) (out []keySlot, ok bool) {
	for _, i := range reads {
		s := &e.slots[i]
		switch s.kind {
		case slotVisibility, slotAction:
			// follow from the action and the other slots
		case slotEvent:
			return nil, false
		default:
			out = append(out, keySlot{kind: s.kind, key: s.key})
		}
	}
	return out, true
}

// keyValue is one value of a key: a string slot's value as it is (b nil),
// or any other value encoded into scratch (b); ok is false when a value
// cannot be encoded exactly (such as a map trait), and then the decision is
// not cached.
func keyValue(ks *keySlot, in *Input, scratch []byte) (s string, b []byte, ok bool) {
	switch ks.kind {
	case slotUserID:
		return in.User.ID, nil, true
	case slotUserEmail:
		return in.User.Email, nil, true
	case slotUserRole:
		return in.User.Role, nil, true
	case slotUserKind:
		return in.User.Kind, nil, true
	case slotModel:
		return in.Request.Model, nil, true
	case slotProvider:
		return in.Request.Provider, nil, true
	case slotIdentityMethod:
		return in.IdentityMethod, nil, true
	case slotCustomerID:
		return in.Customer.ID, nil, true
	case slotAccountID:
		return in.Account.ID, nil, true
	case slotSigned:
		if in.SignedIdentity {
			return "t", nil, true
		}
		return "f", nil, true
	case slotUserTeams:
		b, ok = appendValue(scratch, in.User.Teams, 0)
		return "", b, ok
	case slotCustomerTrait:
		b, ok = appendValue(scratch, lookupTrait(in.Customer.Traits, ks.key), 0)
		return "", b, ok
	case slotAccountTrait:
		b, ok = appendValue(scratch, lookupTrait(in.Account.Traits, ks.key), 0)
		return "", b, ok
	}
	return "", nil, false
}

func appendUvarint(b []byte, n uint64) []byte { return binary.AppendUvarint(b, n) }

func appendString(b []byte, s string) []byte {
	if len(s) < 0x80 { // the usual case: a one-byte length
		return append(append(b, 's', byte(len(s))), s...)
	}
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
