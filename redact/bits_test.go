package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHasDigit(t *testing.T) {
	for i := range 100000 {
		x := uint64(i) * 0x9E3779B97F4A7C15
		want := false
		for k := range 8 {
			if isDigit(byte(x >> (8 * k))) {
				want = true
			}
		}
		if got := hasDigit(x); got != want {
			t.Fatalf("%x: got %v", x, got)
		}
	}
}

func TestFirstSpace(t *testing.T) {
	for i := range 200000 {
		x := uint64(i) * 0x9E3779B97F4A7C15
		y := x * 0xBF58476D1CE4E5B9
		if i%3 == 0 { // put a space somewhere
			k := uint(i % 16)
			if k < 8 {
				x = x&^(0xff<<(8*k)) | ' '<<(8*k)
			} else {
				y = y&^(0xff<<(8*(k-8))) | ' '<<(8*(k-8))
			}
		}
		want := -1
		for k := range 16 {
			w, s := x, uint(k)
			if k >= 8 {
				w, s = y, uint(k-8)
			}
			if byte(w>>(8*s)) == ' ' {
				want = k
				break
			}
		}
		if got := firstSpace(x, y); got != want {
			t.Fatalf("%x %x: got %d want %d", x, y, got, want)
		}
	}
}

// TestDigitScans covers nextDigit's and digitsEnd's eight-byte steps
// and their byte loops: buffers of every length up to 40, dense with
// digits, with long digit runs or with one digit somewhere (long gaps),
// and bytes over 0x7f, which are never digits.
func TestDigitScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alpha := []byte("ab /:0189\x80\xff")
	for round := range 20000 {
		buf := make([]byte, round%41)
		for i := range buf {
			buf[i] = alpha[rng.IntN(len(alpha))]
			if round%4 == 3 && rng.IntN(12) != 0 { // long digit runs
				buf[i] = byte('0' + rng.IntN(10))
			}
			if round%2 == 0 && isDigit(buf[i]) {
				buf[i] = 'x'
			}
		}
		if round%2 == 0 && len(buf) > 0 && rng.IntN(4) != 0 {
			buf[rng.IntN(len(buf))] = '7'
		}
		for i := 0; i <= len(buf); i++ {
			want := i
			for want < len(buf) && !isDigit(buf[want]) {
				want++
			}
			if got := nextDigit(buf, i); got != want {
				t.Fatalf("nextDigit(%q, %d) = %d, want %d", buf, i, got, want)
			}
			end := i
			for end < len(buf) && isDigit(buf[end]) {
				end++
			}
			if got := digitsEnd(buf, i); got != end {
				t.Fatalf("digitsEnd(%q, %d) = %d, want %d", buf, i, got, end)
			}
		}
	}
}

func TestHasSpace(t *testing.T) {
	for i := range 200000 {
		x := uint64(i) * 0x9E3779B97F4A7C15
		if i%3 == 0 { // put a space somewhere
			k := uint(i % 8)
			x = x&^(0xff<<(8*k)) | ' '<<(8*k)
		}
		want := false
		for k := range 8 {
			if byte(x>>(8*k)) == ' ' {
				want = true
			}
		}
		if got := hasSpace(x); got != want {
			t.Fatalf("%x: got %v", x, got)
		}
	}
}

// TestBlockBits checks the 64-byte masks against their byte tests, every
// lane of every word: digitBits64 on any bytes, wordBits64 on ASCII.
func TestBlockBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	alpha := []byte("09az_AZ /.-\x7f")
	var b [64]byte
	for range 5000 {
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		words := wordBits64(&b)
		for i := range b {
			b[i] |= byte(rng.IntN(2)) << 7 // bytes over 0x7f are never digits
		}
		digits := digitBits64(&b)
		for k := range 64 {
			if got, want := words>>k&1 != 0, wordRune(rune(b[k]&0x7f)); got != want {
				t.Fatalf("wordBits64(%q) bit %d = %v", b, k, got)
			}
			if got, want := digits>>k&1 != 0, isDigit(b[k]); got != want {
				t.Fatalf("digitBits64(%q) bit %d = %v", b, k, got)
			}
		}
	}
}

// TestIsASCII puts one byte over 0x7f at every place of texts of every
// length up to 100: the 32-byte steps, the 8-byte steps and the rest.
func TestIsASCII(t *testing.T) {
	for n := range 101 {
		b := []byte(strings.Repeat("a", n))
		if !isASCII(b) {
			t.Fatalf("%d ASCII bytes: not ASCII", n)
		}
		for i := range b {
			b[i] = 0x80
			if isASCII(b) {
				t.Fatalf("0x80 at %d of %d: ASCII", i, n)
			}
			b[i] = 'a'
		}
	}
}
