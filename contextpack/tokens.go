package contextpack

import (
	"fmt"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/pkoukk/tiktoken-go-loader/assets"
)

// Counter counts tokens with OpenAI's cl100k_base encoding, which ships
// inside the binary: nothing is fetched at run time. Newer models use
// o200k_base, which counts ordinary English within a few percent of it with
// twice the vocabulary; a budget needs the size, not the exact split.
// It counts with a compact vocabulary of its own (see tokenizer) rather than
// tiktoken-go, whose maps would keep ~12 MB live for ids Crisp never uses.
// Counts are cached per line, since the same field lines recur on every
// request about the same customer and counting costs tens of µs a line.
type Counter struct {
	tok   *tokenizer
	cache *ristretto.Cache[string, int]
}

// encoding is loaded once per process: it is immutable and costs a few
// tens of milliseconds and about 2 MB to build.
var encoding = sync.OnceValues(func() (*tokenizer, error) {
	return newTokenizer(assets.Assets, cl100kFile)
})

// NewCounter returns a counter on the cl100k_base encoding.
func NewCounter() (*Counter, error) {
	tok, err := encoding()
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, int]{
		NumCounters: 20_000, MaxCost: 2_000, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	return &Counter{tok: tok, cache: c}, nil
}

// Count returns the number of tokens in s.
func (c *Counter) Count(s string) int {
	if n, ok := c.cache.Get(s); ok {
		return n
	}
	n := c.tok.count(s)
	c.cache.Set(s, n, 1)
	return n
}

// Close releases the cache.
func (c *Counter) Close() { c.cache.Close() }
