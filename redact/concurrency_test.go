package redact

import (
	"strings"
	"sync"
	"testing"
)

// TestConcurrentUse shares one Redactor between goroutines and one Session
// between the goroutines of a request (run with -race).
func TestConcurrentUse(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	shared := r.NewSession()
	in := strings.Join(streamInputs, "\n")
	want := r.NewSession().Text(in)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 20 {
				s := r.NewSession()
				if g%2 == 0 {
					s = shared
				}
				if got := s.Text(in); got != want {
					t.Errorf("Text differs under concurrency")
					return
				}
				if _, err := s.JSON([]byte(`{"model":"m","input":"dana@acme.example 48250"}`), "model"); err != nil {
					t.Error(err)
					return
				}
				if got := streamOnce(s, chunk(in, 17), nil); got != want {
					t.Errorf("Stream differs under concurrency")
					return
				}
				s.Manifest()
			}
		})
	}
	wg.Wait()
	if got := shared.Text(email); got != mEmail {
		t.Errorf("shared session placeholder %q", got)
	}
}
