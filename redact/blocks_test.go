package redact

import (
	"math/rand/v2"
	"testing"
)

// TestByteSetExact: the nibble tables hold any set of ASCII bytes exactly
// and no byte over 0x7f.
func TestByteSetExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		var want [256]bool
		for b := range 128 {
			want[b] = rng.IntN(3) == 0
		}
		s := newByteSet(func(b byte) bool { return want[b] })
		for b := range 256 {
			if got := s.has(byte(b)); got != want[b] {
				t.Fatalf("byte %#x: has = %v, want %v", b, got, want[b])
			}
		}
	}
}

// TestBlockMasks checks the vector masks against the sets byte by byte
// and against the SWAR masks the scans use without SIMD.
func TestBlockMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := make([]byte, 64*9)
	for round := range 200 {
		for i := range p {
			switch round % 3 {
			case 0:
				p[i] = byte(rng.IntN(256))
			case 1:
				p[i] = byte(rng.IntN(128))
			default:
				p[i] = "ab 9_Z.\xc3\x80\x7f0/:@`{"[rng.IntN(16)]
			}
		}
		checkBlockMasks(t, p)
	}
}

func FuzzBlockMasks(f *testing.F) {
	f.Add([]byte("Order #10423 was charged twice on May 3rd; ping dana.berg@example.com"))
	f.Fuzz(func(t *testing.T, p []byte) {
		checkBlockMasks(t, p[:len(p)/64*64])
	})
}

func checkBlockMasks(t *testing.T, p []byte) {
	t.Helper()
	n := len(p) / 64
	for _, c := range []struct {
		name string
		set  *byteSet
		swar func(*[64]byte) uint64
		any  bool // the SWAR form holds for bytes over 0x7f too
	}{{"word", &wordBytes, wordBits64, false}, {"digit", &digitBytes, digitBits64, true}} {
		want := make([]uint64, n)
		for j := range n {
			b := (*[64]byte)(p[64*j:])
			for k, x := range b {
				if c.set.has(x) {
					want[j] |= 1 << k
				}
			}
			if !c.any && !isASCII(b[:]) {
				continue
			}
			if got := c.swar(b); got != want[j] {
				t.Fatalf("%s SWAR block %q: %064b, want %064b", c.name, b[:], got, want[j])
			}
		}
		if !haveSIMD || n == 0 {
			continue
		}
		out := make([]uint64, n)
		c.set.masks(p, out)
		for j := range n {
			if out[j] != want[j] {
				t.Fatalf("%s vector block %q: %064b, want %064b", c.name, p[64*j:64*j+64], out[j], want[j])
			}
		}
	}
}
