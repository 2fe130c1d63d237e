package redact

import (
	"math/rand/v2"
	"strings"
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

// TestKeyBytes: the key-like byte set is bKey.
func TestKeyBytes(t *testing.T) {
	r := mustCompile(t, nil, DefaultDetectors())
	for b := range 256 {
		if got, want := keyBytes.has(byte(b)), r.byteKind[b]&bKey != 0; got != want {
			t.Errorf("byte %#x: in keyBytes %v, bKey %v", b, got, want)
		}
	}
}

func TestLongRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		// Long runs of ones with gaps, so runs of every length occur.
		var lo, hi uint64
		for k := 0; k < 128; {
			n := rng.IntN(40)
			if rng.IntN(2) == 0 {
				for e := min(k+n, 128); k < e; k++ {
					if k < 64 {
						lo |= 1 << k
					} else {
						hi |= 1 << (k - 64)
					}
				}
			} else {
				k += n
			}
		}
		var want uint64
		for k := range 64 {
			run := true
			for j := k; j < k+minKeyLen; j++ {
				w := lo
				if j >= 64 {
					w = hi
				}
				run = run && w>>(j%64)&1 == 1
			}
			if run {
				want |= 1 << k
			}
		}
		if got := longRuns(lo, hi); got != want {
			t.Fatalf("longRuns(%064b, %064b) = %064b, want %064b", lo, hi, got, want)
		}
	}
}

// withoutSIMD is r scanning whole texts with the SWAR masks.
func withoutSIMD(r *Redactor) *Redactor {
	c := *r
	c.simd = false
	return &c
}

// TestSIMDEqualsScalar: whole texts redact the same from vector masks as
// from SWAR ones, with values, numbers and keys on every side of a block
// boundary.
func TestSIMDEqualsScalar(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	scalar := withoutSIMD(r)
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := append(strings.Fields(strings.Join(streamInputs, " ")),
		"sk-proj-abcDEF123ghiJKL456mnoPQR789stuVWX0", "AKIAIOSFODNN7EXAMPLE", strings.Repeat("a1B2", 30), "ab", "x")
	var ascii []string // the word starts are read from masks in ASCII texts only
	for _, p := range pieces {
		if isASCII([]byte(p)) {
			ascii = append(ascii, p)
		}
	}
	for round := range 300 {
		from := pieces
		if round%2 == 0 {
			from = ascii
		}
		var b strings.Builder
		for b.Len() < 64*(2+round%9) {
			b.WriteString(strings.Repeat(" ", rng.IntN(3)))
			b.WriteString(from[rng.IntN(len(from))])
			b.WriteByte(" .,\n"[rng.IntN(4)])
		}
		in := b.String()
		if got, want := r.NewSession().Text(in), scalar.NewSession().Text(in); got != want {
			t.Fatalf("text %q\nSIMD   %q\nscalar %q", in, got, want)
		}
	}
}

func TestLetterLanes(t *testing.T) {
	for b := range 256 {
		for k := range 8 {
			x := uint64(0x2e2e2e2e2e2e2e2e)&^(0xff<<(8*k)) | uint64(b)<<(8*k)
			got := letterLanes(x)>>(8*k+7)&1 == 1
			if want := isLetter(byte(b)) && b < 0x80; got != want {
				t.Fatalf("byte %#x in lane %d: letter %v, want %v", b, k, got, want)
			}
			if letterLanes(x)&^(0x80<<(8*k)) != 0 {
				t.Fatalf("byte %#x in lane %d: other lanes set", b, k)
			}
		}
	}
}

func TestHasLetterAndDigit(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 5000 {
		p := make([]byte, rng.IntN(40))
		for i := range p {
			p[i] = "aZ09-_/.\xc3\x80 ~"[rng.IntN(12)]
			if rng.IntN(4) == 0 {
				p[i] = '/'
			}
		}
		letter, digit := false, false
		for _, b := range p {
			letter = letter || isLetter(b)
			digit = digit || isDigit(b)
		}
		if got := hasLetterAndDigit(p); got != (letter && digit) {
			t.Fatalf("hasLetterAndDigit(%q) = %v", p, got)
		}
	}
}
