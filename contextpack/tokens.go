package contextpack

import (
	"fmt"
	"sync"

	"github.com/dgraph-io/ristretto/v2"
	tiktoken "github.com/pkoukk/tiktoken-go"
	loader "github.com/pkoukk/tiktoken-go-loader"
)

// Counter counts tokens with OpenAI's cl100k_base encoding, which ships
// inside the binary: nothing is fetched at run time. Newer models use
// o200k_base, which counts ordinary English within a few percent of it at
// twice the memory (~25 MB resident); a budget needs the size, not the
// exact split.
// Counts are cached per line, since the same field lines recur on every
// request about the same customer and encoding costs ~10 µs a line.
type Counter struct {
	enc   *tiktoken.Tiktoken
	cache *ristretto.Cache[string, int]
}

// encoding is loaded once per process: it is immutable, costs about 0.2 s
// and 30 MB to build, and tiktoken's loader is itself a package global.
var encoding = sync.OnceValues(func() (*tiktoken.Tiktoken, error) {
	tiktoken.SetBpeLoader(loader.NewOfflineLoader())
	return tiktoken.GetEncoding("cl100k_base")
})

// NewCounter returns a counter on the cl100k_base encoding.
func NewCounter() (*Counter, error) {
	enc, err := encoding()
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, int]{
		NumCounters: 20_000, MaxCost: 2_000, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	return &Counter{enc: enc, cache: c}, nil
}

// Count returns the number of tokens in s.
func (c *Counter) Count(s string) int {
	if n, ok := c.cache.Get(s); ok {
		return n
	}
	n := len(c.enc.Encode(s, nil, nil))
	c.cache.Set(s, n, 1)
	return n
}

// Close releases the cache.
func (c *Counter) Close() { c.cache.Close() }
