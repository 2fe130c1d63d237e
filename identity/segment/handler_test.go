package segment_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	analytics "gopkg.in/segmentio/analytics-go.v3"

	"github.com/crisphq/crisp/identity/segment"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

const (
	ws       = "acme"
	writeKey = "acme-write-key"
)

// spy records invalidations.
type spy struct {
	mu        sync.Mutex
	customers []string
	accounts  []string
}

func (s *spy) InvalidateCustomer(w, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers = append(s.customers, w+"/"+id)
}

func (s *spy) InvalidateAccount(w, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = append(s.accounts, w+"/"+id)
}

// serve runs the tracking API over db the way server.New mounts it.
func serve(t testing.TB, db *store.DB, inv segment.Invalidator, maxBytes int64) *httptest.Server {
	t.Helper()
	h := segment.New(segment.Options{Workspace: ws, WriteKeys: []string{writeKey}, MaxBatchBytes: maxBytes,
		Store: db, Invalidator: inv, Log: zerolog.Nop()})
	mux := http.NewServeMux()
	mux.Handle(segment.PathPrefix, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// sdkCallback fails the test on any message the SDK could not deliver.
type sdkCallback struct {
	mu   sync.Mutex
	ok   int
	errs []error
}

func (c *sdkCallback) Success(analytics.Message) { c.mu.Lock(); c.ok++; c.mu.Unlock() }
func (c *sdkCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

type sdkLogger struct{ t testing.TB }

func (l sdkLogger) Logf(format string, args ...any)   { l.t.Logf("sdk: "+format, args...) }
func (l sdkLogger) Errorf(format string, args ...any) { l.t.Logf("sdk error: "+format, args...) }

// TestSegmentSDK drives crisp with Segment's own Go client.
func TestSegmentSDK(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		inv := &spy{}
		srv := serve(t, db, inv, 0)
		cb := &sdkCallback{}
		client, err := analytics.NewWithConfig(writeKey, analytics.Config{
			Endpoint: srv.URL + "/ingest", BatchSize: 4, Interval: 20 * time.Millisecond,
			Callback: cb, Logger: sdkLogger{t}, RetryAfter: func(int) time.Duration { return 10 * time.Millisecond },
		})
		must(t, err)
		t1 := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
		t2 := t1.Add(10 * time.Minute)
		pricing := analytics.Track{MessageId: "m-pricing", UserId: "usr_2481", Event: "Visited pricing", Timestamp: t1,
			Properties: analytics.NewProperties().Set("path", "/pricing"),
			Context:    &analytics.Context{Extra: map[string]any{"groupId": "acc_acme"}}}
		enqueue := []analytics.Message{
			analytics.Identify{UserId: "usr_2481", Timestamp: t2,
				Traits: analytics.NewTraits().SetEmail("dana@acme.example").SetName("Dana").Set("lifecycle", "Activation risk")},
			// Older: its lifecycle must lose to t2's, its new trait must land.
			analytics.Identify{UserId: "usr_2481", Timestamp: t1,
				Traits: analytics.NewTraits().Set("lifecycle", "Trial").Set("phone", "+1 415 555 0199")},
			analytics.Group{UserId: "usr_2481", GroupId: "acc_acme", Timestamp: t1,
				Traits:  analytics.NewTraits().SetName("Acme workspace").Set("plan", "Growth trial").Set("seats", 5),
				Context: &analytics.Context{Traits: analytics.NewTraits().Set("role", "Billing owner")}},
			pricing, pricing, // the SDK's batches may arrive in any order: the copies are equal
			analytics.Track{MessageId: "m-billing", UserId: "usr_2481", Event: "Opened billing", Timestamp: t2},
			analytics.Page{MessageId: "m-page", UserId: "usr_2481", Name: "Pricing", Timestamp: t2.Add(time.Second)},
			analytics.Track{AnonymousId: "anon-1", Event: "Visited pricing"}, // no profile: accepted, not stored
		}
		for _, m := range enqueue {
			must(t, client.Enqueue(m))
		}
		must(t, client.Close())
		if len(cb.errs) > 0 || cb.ok != len(enqueue) {
			t.Fatalf("SDK delivered %d of %d, errors %v", cb.ok, len(enqueue), cb.errs)
		}
		// The same track again, in a later batch: stored once.
		client2, err := analytics.NewWithConfig(writeKey, analytics.Config{Endpoint: srv.URL + "/ingest", BatchSize: 1, Logger: sdkLogger{t}})
		must(t, err)
		must(t, client2.Enqueue(analytics.Track{MessageId: "m-billing", UserId: "usr_2481", Event: "Opened billing", Timestamp: t2}))
		must(t, client2.Close())

		ctx := t.Context()
		c, err := db.Customer(ctx, ws, "usr_2481")
		must(t, err)
		if c.Email != "dana@acme.example" || c.Name != "Dana" {
			t.Errorf("customer columns = %q %q", c.Email, c.Name)
		}
		if got := c.Traits["lifecycle"].Value; got != "Activation risk" {
			t.Errorf("lifecycle = %v, want the later write (Activation risk)", got)
		}
		if got := c.Traits["phone"].Value; got != "+1 415 555 0199" {
			t.Errorf("phone = %v", got)
		}
		if len(c.Accounts) != 1 || c.Accounts[0] != (store.Membership{AccountID: "acc_acme", Role: "Billing owner"}) {
			t.Errorf("memberships = %+v", c.Accounts)
		}
		a, err := db.Account(ctx, ws, "acc_acme")
		must(t, err)
		if a.Name != "Acme workspace" || a.Plan != "Growth trial" || a.Traits["seats"].Value != float64(5) {
			t.Errorf("account = %+v", a)
		}
		j, err := db.Journey(ctx, ws, "usr_2481", 0)
		must(t, err)
		var names []string
		for _, e := range j {
			names = append(names, e.ID+"="+e.Name)
		}
		want := "m-page=Viewed Pricing Page,m-billing=Opened billing,m-pricing=Visited pricing"
		if got := strings.Join(names, ","); got != want {
			t.Errorf("journey = %s, want %s", got, want)
		}
		if j[2].AccountID != "acc_acme" || j[2].Properties["path"] != "/pricing" || j[2].Source != "segment" {
			t.Errorf("track event = %+v", j[2])
		}
		if d := j[2].Timestamp.Sub(t1); d < 0 || d > time.Minute {
			t.Errorf("event time %v is %v from its timestamp %v", j[2].Timestamp, d, t1)
		}
		inv.mu.Lock()
		defer inv.mu.Unlock()
		if !contains(inv.customers, ws+"/usr_2481") || !contains(inv.accounts, ws+"/acc_acme") {
			t.Errorf("invalidated customers %v accounts %v", inv.customers, inv.accounts)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// post sends body to path with the write key (unless key is "-").
func post(t testing.TB, srv *httptest.Server, path, key string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	must(t, err)
	if key != "-" {
		req.SetBasicAuth(key, "")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	must(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRefusals checks that every refused request answers clearly and
// leaves nothing in the store.
func TestRefusals(t *testing.T) {
	good := `{"type":"identify","userId":"usr_1","traits":{"plan":"x"}}`
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf(`{"type":"track","userId":"usr_1","event":"Visited pricing","messageId":"m%d","properties":{"pad":"%s"}}`, i, strings.Repeat("x", 20))
	}
	tests := []struct {
		name, path, key, body string
		header                []string
		status                int
		code, message         string
	}{
		{"bad item named", "/ingest/v1/batch", writeKey,
			`{"batch":[` + good + `,{"type":"track","userId":"usr_1"}]}`,
			nil, 400, "invalid_request_error", "batch[1]: track needs an event name; nothing of the batch was stored."},
		{"malformed JSON", "/ingest/v1/batch", writeKey, `{"batch":[` + good + `,{"type":`, nil, 400, "invalid_request_error", "Body is not valid JSON"},
		{"not an object", "/ingest/v1/batch", writeKey, `[1,2]`, nil, 400, "invalid_request_error", "Body must be a JSON object with a batch list."},
		{"no batch list", "/ingest/v1/batch", writeKey, `{"sentAt":"2026-01-01T00:00:00Z"}`, nil, 400, "invalid_request_error", "Body has no batch list."},
		{"item not an object", "/ingest/v1/batch", writeKey, `{"batch":[` + good + `,"x"]}`, nil, 400, "invalid_request_error", "batch[1]: must be a JSON object"},
		{"traits not an object", "/ingest/v1/batch", writeKey, `{"batch":[{"type":"identify","userId":"u","traits":[1]}]}`, nil, 400, "invalid_request_error", "batch[0]: traits must be an object, not array"},
		{"unknown type", "/ingest/v1/batch", writeKey, `{"batch":[{"type":"merge","userId":"u"}]}`, nil, 400, "invalid_request_error", `batch[0]: type "merge" is not identify`},
		{"no user", "/ingest/v1/batch", writeKey, `{"batch":[{"type":"track","event":"x"}]}`, nil, 400, "invalid_request_error", "batch[0]: track needs a userId or anonymousId"},
		{"group without id", "/ingest/v1/group", writeKey, `{"userId":"u"}`, nil, 400, "invalid_request_error", "body: group needs a groupId"},
		{"bad timestamp", "/ingest/v1/track", writeKey, `{"userId":"u","event":"e","timestamp":"yesterday"}`, nil, 400, "invalid_request_error", `body: timestamp "yesterday" is not an ISO-8601 time`},
		{"object id", "/ingest/v1/identify", writeKey, `{"userId":{"a":1}}`, nil, 400, "invalid_request_error", "body: userId must be a string"},
		{"NUL in id", "/ingest/v1/batch", writeKey, `{"batch":[{"type":"identify","userId":"a\u0000b"}]}`, nil, 400, "invalid_request_error", "batch[0]: userId contains a NUL byte"},
		{"NUL in trait", "/ingest/v1/identify", writeKey, `{"userId":"u","traits":{"name":"a\u0000"}}`, nil, 400, "invalid_request_error", "body: traits.name contains a NUL byte"},
		{"email not text", "/ingest/v1/identify", writeKey, `{"userId":"u","traits":{"email":7}}`, nil, 400, "invalid_request_error", "body: traits.email must be a string"},
		{"too large", "/ingest/v1/batch", writeKey, `{"batch":[` + strings.Join(many, ",") + `]}`, nil, 413, "request_too_large", "larger than the 4096-byte limit"},
		{"too large gzip", "/ingest/v1/batch", writeKey, gz(`{"batch":[` + strings.Join(many, ",") + `]}`), []string{"Content-Encoding", "gzip"}, 413, "request_too_large", "4096-byte"},
		{"bad gzip", "/ingest/v1/batch", writeKey, "not gzip", []string{"Content-Encoding", "gzip"}, 400, "invalid_request_error", "not valid gzip"},
		{"wrong key", "/ingest/v1/batch", "not-the-key", `{"batch":[` + good + `]}`, nil, 401, "invalid_write_key", "Incorrect or missing write key"},
		{"missing key", "/ingest/v1/batch", "-", `{"batch":[` + good + `]}`, nil, 401, "invalid_write_key", "Incorrect or missing write key"},
		{"wrong body key", "/ingest/v1/batch", "-", `{"writeKey":"nope","batch":[` + good + `]}`, nil, 401, "invalid_write_key", "write key"},
		{"unknown path", "/ingest/v1/merge", writeKey, good, nil, 404, "not_found", "Unknown endpoint /ingest/v1/merge"},
	}
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		srv := serve(t, db, nil, 4096)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := post(t, srv, tc.path, tc.key, []byte(tc.body), tc.header...)
				var e struct {
					Error struct{ Message, Code string }
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil {
					t.Fatalf("body %q: %v", body, err)
				}
				if status != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.message) {
					t.Errorf("= %d %s %q\nwant %d %s containing %q", status, e.Error.Code, e.Error.Message, tc.status, tc.code, tc.message)
				}
				assertEmpty(t, db)
			})
		}
		t.Run("GET", func(t *testing.T) {
			res, err := srv.Client().Get(srv.URL + "/ingest/v1/batch")
			must(t, err)
			res.Body.Close()
			if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
				t.Errorf("GET = %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
			}
		})
	})
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

// assertEmpty fails when any customer, account or event of usr_1 is stored.
func assertEmpty(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := t.Context()
	cs, _, err := db.ListCustomers(ctx, ws, store.ListOptions{})
	must(t, err)
	as, _, err := db.ListAccounts(ctx, ws, store.ListOptions{})
	must(t, err)
	evs, err := db.Journey(ctx, ws, "usr_1", 0)
	must(t, err)
	if len(cs)+len(as)+len(evs) > 0 {
		t.Fatalf("refused request stored %d customers, %d accounts, %d events", len(cs), len(as), len(evs))
	}
}

// TestAccepted covers the other ways a good call arrives.
func TestAccepted(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv := serve(t, db, nil, 0)
	cases := []struct {
		name, path, key, body string
		header                []string
	}{
		{"single identify", "/ingest/v1/identify", writeKey, `{"userId":"usr_9","traits":{"firstName":"Ana","lastName":"Lopez"}}`, nil},
		{"body write key", "/ingest/v1/t", "-", `{"writeKey":"acme-write-key","userId":"usr_9","event":"Asked chat","messageId":"b1"}`, nil},
		{"gzip batch", "/ingest/v1/batch", writeKey, gz(`{"batch":[{"type":"group","userId":"usr_9","groupId":"acc_9","traits":{"plan":"Free"}}]}`), []string{"Content-Encoding", "gzip"}},
		{"alias ignored", "/ingest/v1/alias", writeKey, `{"userId":"usr_9","previousId":"anon"}`, nil},
		{"empty batch", "/ingest/v1/batch", writeKey, `{"batch":[]}`, nil},
		{"numeric user id", "/ingest/v1/identify", writeKey, `{"userId":12345,"traits":{"n":1}}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, srv, tc.path, tc.key, []byte(tc.body), tc.header...)
			if status != 200 || body != `{"success":true}` {
				t.Errorf("= %d %s", status, body)
			}
		})
	}
	ctx := t.Context()
	c, err := db.Customer(ctx, ws, "usr_9")
	must(t, err)
	if c.Name != "Ana Lopez" || len(c.Accounts) != 1 {
		t.Errorf("customer = %+v", c)
	}
	if _, err := db.Customer(ctx, ws, "12345"); err != nil {
		t.Errorf("numeric user id: %v", err)
	}
	if j, _ := db.Journey(ctx, ws, "usr_9", 0); len(j) != 1 || j[0].Name != "Asked chat" {
		t.Errorf("journey = %+v", j)
	}
}

// TestRetryDoesNotWinLWW: a retried identify is dated later by the
// clock-skew correction; messageId dedupe keeps it from overwriting a newer
// write.
func TestRetryDoesNotWinLWW(t *testing.T) {
	db := storetest.OpenSQLite(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := segment.New(segment.Options{Workspace: ws, WriteKeys: []string{writeKey}, Store: db, Log: zerolog.Nop(),
		Now: func() time.Time { return now }})
	send := func(body string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/ingest/v1/batch", strings.NewReader(body))
		req.SetBasicAuth(writeKey, "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("= %d %s", w.Code, w.Body)
		}
	}
	first := `{"sentAt":"2026-11-26T11:00:00Z","batch":[{"type":"identify","messageId":"m1","userId":"u","timestamp":"2026-11-26T11:00:00Z","traits":{"plan":"old"}}]}`
	now = time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	send(first)
	now = time.Date(2026, 11, 26, 11, 5, 0, 0, time.UTC)
	send(`{"sentAt":"2026-11-26T11:05:00Z","batch":[{"type":"identify","messageId":"m2","userId":"u","timestamp":"2026-11-26T11:05:00Z","traits":{"plan":"new"}}]}`)
	now = time.Date(2026, 11, 26, 11, 30, 0, 0, time.UTC) // the retry of m1, 30 minutes late
	send(first)
	c, err := db.Customer(t.Context(), ws, "u")
	must(t, err)
	if got := c.Traits["plan"].Value; got != "new" {
		t.Errorf("plan = %v, want new", got)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
