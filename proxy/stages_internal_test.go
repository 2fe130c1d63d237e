package proxy

import (
	"fmt"
	"testing"
)

// TestKeySet finds the first repeated key whether the set is still a list
// or has moved to a map.
func TestKeySet(t *testing.T) {
	keys := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("k%d", i)
		}
		return out
	}
	tests := []struct {
		name    string
		keys    []string
		wantDup int // index of the first key add refuses, -1 for none
	}{
		{"none", nil, -1},
		{"distinct few", []string{"model", "messages", "stream"}, -1},
		{"repeat few", []string{"model", "store", "messages", "store"}, 3},
		{"distinct many", keys(40), -1},
		{"repeat of the first after the list is full", append(keys(20), "k0"), 20},
		{"repeat of one added to the map", append(keys(20), "k18"), 20},
		{"repeat at the boundary", append(keys(16), "k15"), 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s keySet
			got := -1
			for i, k := range tt.keys {
				if !s.add(k) {
					got = i
					break
				}
			}
			if got != tt.wantDup {
				t.Errorf("first refused key at %d, want %d", got, tt.wantDup)
			}
		})
	}
}
