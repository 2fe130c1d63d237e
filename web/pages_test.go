package web_test

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
	"github.com/crisphq/crisp/web"
)

// client is a browser without the browser: a cookie jar and the session's
// CSRF token, over a real crisp.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func startCrisp(t *testing.T) (*servertest.Crisp, *providertest.Fake) {
	t.Helper()
	fake := providertest.New()
	t.Cleanup(fake.Close)
	return startWith(t, servertest.Config(fake.URL(), "")+"seed: true\n", ""), fake
}

// startWith runs crisp (definitions from dir, or the embedded example when
// dir is "") over a database that already holds the demo members, hashed
// at bcrypt's lowest cost: at the default cost each sign-in takes over a
// second under the race detector. Seeding itself is tested in seed_test.go.
func startWith(t testing.TB, yaml, dir string) *servertest.Crisp {
	t.Helper()
	return startOn(t, yaml, dir, storetest.SQLiteDSN(t))
}

// startOn is startWith over the database at dsn.
func startOn(t testing.TB, yaml, dir, dsn string) *servertest.Crisp {
	t.Helper()
	cfg, err := config.Parse("crisp.yaml", []byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	cfg.Storage.DSN = dsn
	db, err := store.Open(t.Context(), cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.Seed(t.Context(), web.SeedOptions{Store: db, Workspace: cfg.Workspace.ID, FS: configs.FS,
		BcryptCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return servertest.StartOn(t, cfg, ln)
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

var (
	hiddenInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaToken   = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)
)

// signIn signs in and keeps the session's CSRF token.
func (c *client) signIn(email, password string) *http.Response {
	c.t.Helper()
	_, page := c.do("GET", "/ui/signin", nil, nil)
	m := hiddenInput.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on the sign-in page:\n%s", page)
	}
	res, _ := c.do("POST", "/ui/signin", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password},
		"next": {"/ui/inbox"}}, nil)
	if res.StatusCode == http.StatusSeeOther {
		_, inbox := c.do("GET", "/ui/inbox", nil, nil)
		if m := metaToken.FindStringSubmatch(inbox); m != nil {
			c.csrf = m[1]
		}
	}
	return res
}

// post sends a form with the session's CSRF token.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf)
	return c.do("POST", path, form, nil)
}

func TestSignIn(t *testing.T) {
	crisp, _ := startCrisp(t)
	tests := []struct {
		name, email, password string
		status                int
	}{
		{name: "member", email: "maya@acme.example", password: "crisp-demo", status: http.StatusSeeOther},
		{name: "email ignores case", email: " Ada@Acme.Example ", password: "crisp-demo", status: http.StatusSeeOther},
		{name: "wrong password", email: "maya@acme.example", password: "crisp", status: http.StatusUnauthorized},
		{name: "unknown member", email: "eve@acme.example", password: "crisp-demo", status: http.StatusUnauthorized},
		{name: "empty", status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, crisp.URL)
			res := c.signIn(tt.email, tt.password)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != http.StatusSeeOther {
				return
			}
			var sess *http.Cookie
			for _, ck := range res.Cookies() {
				if ck.Name == "crisp_session" {
					sess = ck
				}
			}
			if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure || sess.Path != "/" {
				t.Errorf("session cookie = %+v", sess)
			}
		})
	}

	t.Run("form without its token", func(t *testing.T) {
		c := newClient(t, crisp.URL)
		res, _ := c.do("POST", "/ui/signin", url.Values{"email": {"maya@acme.example"}, "password": {"crisp-demo"}}, nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403", res.StatusCode)
		}
	})
	t.Run("next stays on this site", func(t *testing.T) {
		for next, want := range map[string]string{"//evil.example/x": "/ui/inbox", "https://evil.example": "/ui/inbox",
			"/\\evil.example": "/ui/inbox", "/ui/catalog?q=a": "/ui/catalog?q=a"} {
			c := newClient(t, crisp.URL)
			_, page := c.do("GET", "/ui/signin", nil, nil)
			tok := hiddenInput.FindStringSubmatch(page)[1]
			res, _ := c.do("POST", "/ui/signin", url.Values{"csrf": {tok}, "email": {"maya@acme.example"},
				"password": {"crisp-demo"}, "next": {next}}, nil)
			if got := res.Header.Get("Location"); got != want {
				t.Errorf("next %q went to %q, want %q", next, got, want)
			}
		}
	})
	t.Run("signed out pages redirect", func(t *testing.T) {
		c := newClient(t, crisp.URL)
		res, _ := c.do("GET", "/ui/usage?since=24h", nil, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/signin?next=%2Fui%2Fusage%3Fsince%3D24h" {
			t.Errorf("signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, _ = c.do("POST", "/ui/inbox/cnv_acme_seats/reply", url.Values{"text": {"hi"}}, nil)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("signed-out post: %d", res.StatusCode)
		}
	})
	t.Run("sign out ends the session", func(t *testing.T) {
		c := newClient(t, crisp.URL)
		c.signIn("maya@acme.example", "crisp-demo")
		if res, _ := c.post("/ui/signout", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out: %d", res.StatusCode)
		}
		if res, _ := c.do("GET", "/ui/inbox", nil, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign out the inbox answered %d", res.StatusCode)
		}
	})
}

// Every page renders for members and admins, and none shows the private
// revenue the policy hides.
func TestPages(t *testing.T) {
	crisp, _ := startCrisp(t)
	pages := []struct {
		path        string
		member      int // status for maya (member)
		admin       int // status for ada (admin)
		contains    string
		notContains string
	}{
		{path: "/ui/inbox", member: 200, admin: 200, contains: "Dana"},
		{path: "/ui/inbox?status=closed", member: 200, admin: 200, contains: "Lena"},
		{path: "/ui/inbox?status=bogus", member: 400, admin: 400},
		{path: "/ui/inbox/cnv_acme_seats", member: 200, admin: 200, contains: "Growth trial"},
		{path: "/ui/inbox/cnv_hooli_invites", member: 200, admin: 200, contains: "Identity not verified"},
		{path: "/ui/inbox/cnv_nope", member: 404, admin: 404},
		{path: "/ui/catalog", member: 200, admin: 200, contains: "account.privateRevenue", notContains: "/edit\""},
		{path: "/ui/catalog?q=ai:hidden+billing", member: 200, admin: 200, contains: "account.paymentRisk"},
		{path: "/ui/catalog/fields/account.privateRevenue", member: 200, admin: 200, contains: "Finance only"},
		{path: "/ui/catalog/events/Read%20seat%20limits", member: 200, admin: 200, contains: "Dana"},
		{path: "/ui/catalog/fields/account.nope", member: 404, admin: 404},
		{path: "/ui/catalog/things/x", member: 404, admin: 404},
		{path: "/ui/catalog/history", member: 200, admin: 200},
		{path: "/ui/catalog/fields/account.plan/edit", member: 403, admin: 200, contains: "Visibility per use"},
		{path: "/ui/policies", member: 200, admin: 200, contains: "rule support-draft"},
		{path: "/ui/policies?ran=1&member=riley@acme.example&customer=usr_2481&action=ai.draft&signed=1",
			member: 200, admin: 200, contains: "deny"},
		{path: "/ui/usage", member: 200, admin: 200},
		{path: "/ui/usage?since=nonsense", member: 200, admin: 200, contains: "since"},
		{path: "/ui/usage/verify", member: 403, admin: 200, contains: "Chain verified"},
		{path: "/ui/usage/export?format=csv", member: 403, admin: 200},
		{path: "/ui/usage/aud_missing", member: 404, admin: 404},
		{path: "/ui/elsewhere", member: 404, admin: 404},
		{path: "/static/", member: 404, admin: 404},
		{path: "/static/app.css", member: 200, admin: 200, contains: "--accent"},
	}
	for _, who := range []string{"maya@acme.example", "ada@acme.example"} {
		c := newClient(t, crisp.URL)
		if res := c.signIn(who, "crisp-demo"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s: %d", who, res.StatusCode)
		}
		for _, p := range pages {
			want := p.member
			if who == "ada@acme.example" {
				want = p.admin
			}
			res, body := c.do("GET", p.path, nil, nil)
			if res.StatusCode != want {
				t.Errorf("%s GET %s = %d, want %d", who, p.path, res.StatusCode, want)
				continue
			}
			if want == 200 && p.contains != "" && !strings.Contains(body, p.contains) {
				t.Errorf("%s GET %s lacks %q", who, p.path, p.contains)
			}
			if p.notContains != "" && who == "maya@acme.example" && strings.Contains(body, p.notContains) {
				t.Errorf("%s GET %s contains %q", who, p.path, p.notContains)
			}
			noRevenue(t, who+" "+p.path, body)
			if h := res.Header.Get("Content-Security-Policy"); !strings.Contains(h, "script-src 'self'") {
				t.Errorf("%s GET %s: CSP %q", who, p.path, h)
			}
		}
	}
}

func TestCSRF(t *testing.T) {
	crisp, _ := startCrisp(t)
	c := newClient(t, crisp.URL)
	c.signIn("maya@acme.example", "crisp-demo")
	reply := url.Values{"text": {"Hello"}}
	tests := []struct {
		name   string
		form   url.Values
		header map[string]string
		status int
	}{
		{name: "no token", form: reply, status: http.StatusForbidden},
		{name: "wrong token", form: url.Values{"text": {"Hello"}, "csrf": {"nope"}}, status: http.StatusForbidden},
		{name: "other origin", form: url.Values{"text": {"Hello"}, "csrf": {c.csrf}},
			header: map[string]string{"Origin": "https://evil.example"}, status: http.StatusForbidden},
		{name: "header token", form: reply, header: map[string]string{"X-CSRF-Token": c.csrf}, status: http.StatusSeeOther},
		{name: "form token, same origin", form: url.Values{"text": {"Hello"}, "csrf": {c.csrf}},
			header: map[string]string{"Origin": crisp.URL}, status: http.StatusSeeOther},
	}
	for _, tt := range tests {
		res, _ := c.do("POST", "/ui/inbox/cnv_acme_seats/reply", tt.form, tt.header)
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.status)
		}
	}
}

var auditInEvent = regexp.MustCompile(`"audit_id":"(aud_[0-9A-Z]+)"`)

// stream posts to a UI stream endpoint and returns its status and body.
func (c *client) stream(path string, form url.Values) (int, string) {
	c.t.Helper()
	res, body := c.do("POST", path, form, map[string]string{"X-CSRF-Token": c.csrf, "Accept": "text/event-stream"})
	return res.StatusCode, body
}

func TestDraftAndReply(t *testing.T) {
	crisp, _ := startCrisp(t)
	maya := newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")

	status, body := maya.stream("/ui/inbox/cnv_acme_seats/draft", url.Values{"tone": {"concise"}})
	m := auditInEvent.FindStringSubmatch(body)
	if status != 200 || m == nil || !strings.Contains(body, "event: delta") || !strings.Contains(body, "event: done") {
		t.Fatalf("draft = %d:\n%s", status, body)
	}
	draftAudit := m[1]
	noRevenue(t, "draft stream", body)

	// An unverified conversation gets no customer-scoped AI.
	status, body = maya.stream("/ui/inbox/cnv_hooli_invites/draft", nil)
	if status != http.StatusForbidden || !strings.Contains(body, `"error"`) {
		t.Errorf("unverified draft = %d %s", status, body)
	}
	// A sales member may not draft for this customer.
	riley := newClient(t, crisp.URL)
	riley.signIn("riley@acme.example", "crisp-demo")
	if status, body := riley.stream("/ui/inbox/cnv_acme_seats/draft", nil); status != http.StatusForbidden {
		t.Errorf("sales draft = %d %s", status, body)
	}
	if status, body := maya.stream("/ui/inbox/cnv_acme_seats/ask", url.Values{"question": {""}}); status != http.StatusBadRequest {
		t.Errorf("empty question = %d %s", status, body)
	}

	// The reply links the draft's audit record, and only a record of this
	// member about this customer.
	replies := []struct {
		name, client, auditID string
		status                int
	}{
		{name: "someone else's draft", client: "riley", auditID: draftAudit, status: http.StatusBadRequest},
		{name: "made-up record", client: "maya", auditID: "aud_01NOTAREALRECORD000000000", status: http.StatusBadRequest},
		{name: "own draft", client: "maya", auditID: draftAudit, status: http.StatusSeeOther},
	}
	for _, tt := range replies {
		c := maya
		if tt.client == "riley" {
			c = riley
		}
		res, _ := c.post("/ui/inbox/cnv_acme_seats/reply", url.Values{"text": {"Growth raises the limit."}, "audit_id": {tt.auditID}})
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.status)
		}
	}
	res, page := maya.do("GET", "/ui/inbox/cnv_acme_seats", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, "/ui/usage/"+draftAudit) {
		t.Errorf("the conversation does not link the draft's record")
	}
	// The API shows the same link.
	api := crisp.Do(t, "GET", "/api/v1/conversations/cnv_acme_seats", servertest.SupportKey, "")
	b, _ := io.ReadAll(api.Body)
	api.Body.Close()
	if api.StatusCode != 200 || !strings.Contains(string(b), `"audit_id":"`+draftAudit+`"`) {
		t.Errorf("API conversation = %d %s", api.StatusCode, b)
	}

	// Members review their own uses only.
	if res, _ := riley.do("GET", "/ui/usage/"+draftAudit, nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("another member's record: %d", res.StatusCode)
	}
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	if res, page := ada.do("GET", "/ui/usage/"+draftAudit, nil, nil); res.StatusCode != 200 || !strings.Contains(page, "support-draft") {
		t.Errorf("admin on the record: %d", res.StatusCode)
	}

	// State changes.
	for _, do := range []string{"resolve", "escalate", "reopen"} {
		if res, _ := maya.post("/ui/inbox/cnv_acme_seats/state", url.Values{"do": {do}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d", do, res.StatusCode)
		}
	}
	if res, _ := maya.post("/ui/inbox/cnv_acme_seats/state", url.Values{"do": {"csat"}, "csat": {"9"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("csat 9: %d", res.StatusCode)
	}
}

func TestAIContextPreview(t *testing.T) {
	crisp, _ := startCrisp(t)
	c := newClient(t, crisp.URL)
	c.signIn("maya@acme.example", "crisp-demo")
	res, body := c.post("/ui/inbox/cnv_acme_seats/context", nil)
	if res.StatusCode != 200 || !strings.Contains(body, "account.plan") ||
		!regexp.MustCompile(`customer.email</dt><dd class="masked">`).MatchString(body) {
		t.Errorf("context preview = %d:\n%s", res.StatusCode, body)
	}
	noRevenue(t, "context preview", body)
	if strings.Contains(body, "dana@acme.example") {
		t.Error("the AI's view shows the masked email")
	}
}
