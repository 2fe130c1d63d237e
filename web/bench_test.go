package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// BenchmarkPages measures a signed-in member's page loads end to end over
// loopback: session, policy checks, store reads, templates.
func BenchmarkPages(b *testing.B) {
	fake := providertest.New()
	b.Cleanup(fake.Close)
	crisp := startWith(b, servertest.Config(fake.URL(), "")+"seed: true\n", "")
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.Get(crisp.URL + "/ui/signin")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := hiddenInput.FindStringSubmatch(string(page))[1]
	if _, err := hc.PostForm(crisp.URL+"/ui/signin", url.Values{"csrf": {tok}, "email": {"maya@acme.example"},
		"password": {"crisp-demo"}}); err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/ui/inbox/cnv_acme_seats", "/ui/catalog", "/ui/catalog/fields/account.plan", "/ui/policies"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := hc.Get(crisp.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("%s: %d", path, res.StatusCode)
				}
			}
		})
	}
}
