//go:build amd64 && !purego

package redact

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBlockMasks is one call's cost, which a short text pays several
// times (words, value starts, digits, key bytes): a fixed cost per call
// shows up here, not in a long text's throughput.
func BenchmarkBlockMasks(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("blocks=%d", n), func(b *testing.B) {
			p := []byte(strings.Repeat("Order #10423 was charged twice; ", 2*n))
			out := make([]uint64, n)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				wordBytes.masks(p, out)
			}
		})
	}
}
