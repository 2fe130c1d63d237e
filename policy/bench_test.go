package policy

import (
	"testing"
)

// The seed rule decided for the example workspace, as the bench module
// compares with OPA and Cedar. Goal: under 1µs uncached, under 100ns cached.
func BenchmarkDecide(b *testing.B) {
	e, err := Load(acmeDir, acmeCatalog(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		in   Input
	}{
		{"allow", acmeInput("support", true)},
		{"deny_role", acmeInput("sales", true)},
		{"deny_unsigned", acmeInput("support", false)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(bc.in)
			}
		})
	}
}

func BenchmarkDecideCached(b *testing.B) {
	c, err := NewCache(10_000)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	e, err := Load(acmeDir, acmeCatalog(b), WithCache(c))
	if err != nil {
		b.Fatal(err)
	}
	in := acmeInput("support", true)
	for range 10 { // ristretto admits asynchronously
		e.Decide(in)
		c.Wait()
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Decide(in)
	}
}
