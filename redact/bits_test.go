package redact

import "testing"

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
