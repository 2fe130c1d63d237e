package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// The end-to-end suite drives the real UI in headless Chromium against a
// real crisp (servertest) in front of the fake provider. It saves a
// screenshot of each screen under artifacts/screenshots (git-ignored).

const (
	draftAnswer = "Hi Dana, thanks for reaching out! Your Growth trial includes five seats, and all five are in use. " +
		"Upgrading to the Growth plan raises the seat limit and keeps your saved inbox rules, so nothing changes for your team. " +
		"Want me to walk you through the upgrade?"
	askAnswer = "Acme workspace is on the Growth trial plan, day 6 of the trial, with 5 seats in use. " +
		"Checkout risk is flagged: Dana read the seat limits and opened billing before asking chat."
	privateRevenue = "48250"
)

// chromium finds the browser: Debian's chromium package in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: CI must run the browser suite (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed; the browser suite runs in CI")
	return ""
}

type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	shots := filepath.Join("..", "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: bctx, base: base, shots: shots}
	b.run(chromedp.EmulateViewport(1280, 800))
	return b
}

// run runs actions that return nothing, in order.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+path), chromedp.WaitReady(css("body")))
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// eval runs a JavaScript expression and returns its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if eval[bool](b, "!!("+js+")") {
			return
		}
		if time.Now().After(deadline) {
			body := eval[string](b, "document.body.innerText")
			b.t.Fatalf("timed out waiting for %s; page text:\n%s", what, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf("(document.querySelector(%q)||{}).innerText||''", sel))
}

func (b *browser) html() string {
	b.t.Helper()
	return eval[string](b, "document.documentElement.outerHTML")
}

func (b *browser) signIn(email string) {
	b.t.Helper()
	b.open("/ui/signin")
	b.run(chromedp.SendKeys(css("#email"), email),
		chromedp.SendKeys(css("#password"), "crisp-demo"),
		chromedp.Click(css(".signin button[type=submit]")))
	b.waitFor("the inbox after signing in", `document.querySelector(".convs")`)
}

func (b *browser) signOut() {
	b.t.Helper()
	b.run(chromedp.Click(css(".me button[type=submit]")))
	b.waitFor("the sign-in page", `document.querySelector("#password")`)
}

func noRevenue(t *testing.T, where, page string) {
	t.Helper()
	for _, v := range []string{privateRevenue, "48,250"} {
		if strings.Contains(page, v) {
			t.Errorf("%s: the page contains the private revenue %s", where, v)
		}
	}
}

var auditIDPattern = regexp.MustCompile(`aud_[0-9A-Z]+`)

// a11yProblems lists what basic accessibility checks find on the page:
// form controls without a label, buttons without a name, images not
// hidden from assistive technology, a missing language or h1.
const a11yProblems = `(() => {
  const out = [];
  const named = e => (e.textContent || "").trim() || e.getAttribute("aria-label") || e.getAttribute("title");
  for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const id = e.id;
    if (!((id && document.querySelector('label[for="' + id + '"]')) || e.closest("label") ||
          e.getAttribute("aria-label") || e.getAttribute("aria-labelledby"))) out.push("unlabelled " + e.outerHTML.slice(0, 80));
  }
  for (const e of document.querySelectorAll("button, a[href]")) if (!named(e)) out.push("unnamed " + e.outerHTML.slice(0, 80));
  for (const e of document.querySelectorAll("svg:not([aria-hidden=true]), img:not([alt])")) out.push("image without alt " + e.outerHTML.slice(0, 60));
  if (!document.documentElement.lang) out.push("no lang");
  if (document.querySelectorAll("h1").length !== 1) out.push(document.querySelectorAll("h1").length + " h1 elements");
  return out;
})()`

// checkA11y fails the test on the page's accessibility problems.
func (b *browser) checkA11y(page string) {
	b.t.Helper()
	for _, p := range eval[[]string](b, a11yProblems) {
		b.t.Errorf("%s: %s", page, p)
	}
}

// flow is the state the browser suite carries from screen to screen.
type flow struct {
	t          *testing.T
	b          *browser
	fake       *providertest.Fake
	gate       chan struct{}
	draftAudit string
	askAudit   string
}

func TestBrowser(t *testing.T) {
	fake := providertest.New()
	t.Cleanup(fake.Close)
	gate := make(chan struct{})
	fake.Update(func(f *providertest.Fake) { f.Answer, f.Gate = draftAnswer, gate })
	c := startWith(t, servertest.Config(fake.URL(), "")+"seed: true\n", "")
	f := &flow{t: t, b: newBrowser(t, c.URL), fake: fake, gate: gate}
	f.signInAndOpen()
	f.draft()
	f.ask()
	f.usage()
	f.catalogAndPolicies()
	f.editor()
	f.phone()
}

// signInAndOpen signs in and opens the Acme conversation and its panel.
func (f *flow) signInAndOpen() {
	t, b := f.t, f.b
	b.open("/ui/inbox")
	b.waitFor("the sign-in form", `document.querySelector("#email")`)
	b.checkA11y("sign-in")
	b.shot("01-signin")
	b.signIn("maya@acme.example")

	b.run(chromedp.Click(css(`a.conv[href^="/ui/inbox/cnv_acme_seats"]`)))
	b.waitFor("the Acme conversation", `document.querySelector(".panel-col .account-card")`)
	if got := b.text(".messages"); !strings.Contains(got, "We are ready to upgrade, but the team seat limit looks confusing.") {
		t.Errorf("conversation text = %q", got)
	}
	panel := b.text(".panel-col")
	for _, want := range []string{"Acme workspace", "Growth trial", "trial day 6", "billing owner", "checkout risk",
		"Signed hash verified", "Private revenue hidden", "AI context allowed", "Visited pricing", "Asked chat"} {
		if !strings.Contains(panel, want) {
			t.Errorf("account panel lacks %q:\n%s", want, panel)
		}
	}
	noRevenue(t, "inbox", b.html())
	b.checkA11y("inbox")
	b.shot("02-inbox")

	// What the AI sees: an htmx POST carrying the CSRF header.
	b.run(chromedp.Click(css(`button[hx-post$="/context"]`)))
	b.waitFor("the AI's view", `document.querySelector("#ai-context .aicontext dl")`)
	if s := b.text("#ai-context"); !strings.Contains(s, "account.plan") || strings.Contains(s, "dana@acme.example") {
		t.Errorf("the AI's view = %q", s)
	}
}

// draft drafts a reply and watches it stream: the fake holds each chunk
// until the test lets it go. Then it sends the reply.
func (f *flow) draft() {
	t, b := f.t, f.b
	b.run(chromedp.Click(css("#draft-btn")))
	var partial string
	for i := 0; i < 60 && partial == ""; i++ {
		select {
		case f.gate <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatal("the draft never reached the provider")
		}
		time.Sleep(20 * time.Millisecond)
		partial = eval[string](b, `document.querySelector("#reply-text").value`)
	}
	if partial == "" || partial == draftAnswer {
		t.Fatalf("no partial draft seen while streaming: %q", partial)
	}
	if s := b.text("#draft-status"); !strings.Contains(s, "Drafting") {
		t.Errorf("draft status while streaming = %q", s)
	}
	b.shot("03-draft-streaming")
	close(f.gate) // let the rest through
	b.waitFor("the draft to finish", `document.querySelector("#audit-id").value !== ""`)
	draft := eval[string](b, `document.querySelector("#reply-text").value`)
	f.draftAudit = eval[string](b, `document.querySelector("#audit-id").value`)
	if !strings.Contains(draft, "Growth plan raises the seat limit") || !auditIDPattern.MatchString(f.draftAudit) {
		t.Errorf("draft = %q, audit id %q", draft, f.draftAudit)
	}
	if s := b.text("#draft-status"); !strings.Contains(s, f.draftAudit) || !strings.Contains(s, "account.plan") {
		t.Errorf("draft status = %q", s)
	}
	noRevenue(t, "draft", b.html()+draft)
	b.shot("04-draft")

	// Sent, the reply keeps its link to the audit record.
	b.run(chromedp.Click(css(`#reply button[value=""]`)))
	b.waitFor("the sent reply", `document.querySelector(".msg.from-agent .ai-link")`)
	if s := b.text(".msg.from-agent .ai-link"); !strings.Contains(s, f.draftAudit) {
		t.Errorf("sent reply links %q, want %s", s, f.draftAudit)
	}
}

// ask asks about the account from the panel.
func (f *flow) ask() {
	t, b := f.t, f.b
	f.fake.Update(func(fk *providertest.Fake) { fk.Answer, fk.Gate = askAnswer, nil })
	b.run(chromedp.SendKeys(css("#ask-q"), "What plan is Acme on, and why might they stall at checkout?"),
		chromedp.Click(css("#ask-form button")))
	b.waitFor("the answer", `document.querySelector("#ask-answer .meta-line a")`)
	answer := b.text("#ask-answer")
	f.askAudit = auditIDPattern.FindString(answer)
	if !strings.Contains(answer, "Growth trial plan") || f.askAudit == "" {
		t.Errorf("answer = %q", answer)
	}
	noRevenue(t, "ask", b.html())
	b.run(chromedp.ScrollIntoView(css("#ask-answer")))
	b.shot("05-ask")
}

// usage finds both uses on the AI usage page and opens the draft's record.
func (f *flow) usage() {
	t, b := f.t, f.b
	b.open("/ui/usage")
	usage := b.text("table.usage")
	for _, id := range []string{f.draftAudit, f.askAudit} {
		if !strings.Contains(usage, id) {
			t.Errorf("AI usage lacks %s:\n%s", id, usage)
		}
	}
	b.checkA11y("usage")
	b.shot("06-usage")
	b.run(chromedp.Click(css(fmt.Sprintf(`a[href="/ui/usage/%s"]`, f.draftAudit))))
	b.waitFor("the audit record", `document.querySelector(".def")`)
	rec := b.text("main")
	for _, want := range []string{f.draftAudit, "ai.draft", "support-draft", "account.plan", "customer.email"} {
		if !strings.Contains(rec, want) {
			t.Errorf("audit record page lacks %q", want)
		}
	}
	noRevenue(t, "record", b.html())
	b.checkA11y("record")
	b.shot("07-record")
}

// catalogAndPolicies searches the catalog, opens a field with the AI uses
// that carried it, and tries the policy.
func (f *flow) catalogAndPolicies() {
	t, b := f.t, f.b
	b.open("/ui/catalog")
	b.checkA11y("catalog")
	b.shot("08-catalog")
	b.run(chromedp.SendKeys(css("#q"), "secret"))
	b.waitFor("the search to narrow the table", `document.querySelectorAll("table.catalog tbody tr").length === 1`)
	if s := b.text("table.catalog"); !strings.Contains(s, "account.privateRevenue") {
		t.Errorf("search for secret = %q", s)
	}
	b.open("/ui/catalog/fields/account.plan")
	if s := b.text("main"); !strings.Contains(s, f.draftAudit) || !strings.Contains(s, "Acme workspace") {
		t.Errorf("account.plan page lacks its AI use or account:\n%s", s)
	}
	b.checkA11y("field")
	b.shot("09-field")

	b.open("/ui/policies")
	b.run(chromedp.Click(css(".try button[type=submit]")))
	b.waitFor("the decision", `document.querySelector("#try-result .verdict")`)
	if s := b.text("#try-result"); !strings.Contains(s, "allow") || !strings.Contains(s, "support-draft") {
		t.Errorf("try it = %q", s)
	}
	b.checkA11y("policies")
	b.shot("10-policies")
}

// editor: a member cannot open it, an admin can, and the edit lands in the
// history; then the admin's view of the AI usage.
func (f *flow) editor() {
	t, b := f.t, f.b
	b.open("/ui/catalog/fields/account.plan/edit")
	if s := b.text("main"); !strings.Contains(s, "Admins only") {
		t.Errorf("member on the editor saw %q", s)
	}
	if eval[int](b, `document.querySelectorAll("form.editor").length`) != 0 {
		t.Error("the editor form was shown to a member")
	}
	b.shot("11-editor-member")
	b.open("/ui/keys")
	if s := b.text("main"); !strings.Contains(s, "Admins only") {
		t.Errorf("member on the keys page saw %q", s)
	}
	if eval[int](b, `document.querySelectorAll('a[href="/ui/keys"]').length`) != 0 {
		t.Error("a member's nav links the keys page")
	}

	b.signOut()
	b.signIn("ada@acme.example")
	b.open("/ui/catalog/fields/account.plan/edit")
	b.waitFor("the editor", `document.querySelector("form.editor")`)
	b.run(chromedp.SetValue(css("#owner"), "revops@acme.example"))
	b.checkA11y("editor")
	b.shot("12-editor")
	b.run(chromedp.Click(css("form.editor button[type=submit]")))
	b.waitFor("the saved entry", `document.querySelector(".flash")`)
	if s := b.text("main"); !strings.Contains(s, "revops@acme.example") || !strings.Contains(s, "ada@acme.example") {
		t.Errorf("after the edit:\n%s", s)
	}
	b.open("/ui/catalog/history")
	if s := b.text("main"); !strings.Contains(s, "+  owner: revops@acme.example") {
		t.Errorf("history lacks the diff:\n%s", s)
	}
	b.shot("13-history")

	b.open("/ui/keys")
	b.run(chromedp.SetValue(css("#k-id"), "key_inbox_bot"), chromedp.SetValue(css("#k-kind"), "workflow"),
		chromedp.SetValue(css("#k-role"), "automation"))
	b.checkA11y("keys")
	b.run(chromedp.Click(css("form.editor button[type=submit]")))
	b.waitFor("the new key", `document.querySelector("#new-key")`)
	if s := b.text("#new-key"); !strings.Contains(s, "ck_") {
		t.Errorf("the new key is not shown: %q", s)
	}
	b.shot("17-keys")
	b.open("/ui/policies/acme.rules/edit")
	b.waitFor("the policy editor", `document.querySelector("#text")`)
	if s := b.text("main"); !strings.Contains(s, "read-only") {
		t.Errorf("the embedded policy editor does not say it is read-only:\n%s", s)
	}
	b.checkA11y("policy editor")

	b.open("/ui/usage")
	b.waitFor("the chain check", `document.querySelector("#verify .note.ok")`)
	if s := b.text("main"); !strings.Contains(s, "Chain verified") || !strings.Contains(s, "maya@acme.example") ||
		!strings.Contains(s, "Export CSV") {
		t.Errorf("admin AI usage:\n%s", s)
	}
	b.checkA11y("usage (admin)")
	b.shot("16-usage-admin")
}

// phone: at phone width the conversation replaces the list, and its
// account panel follows below.
func (f *flow) phone() {
	t, b := f.t, f.b
	b.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	b.open("/ui/inbox/cnv_acme_seats")
	b.waitFor("the phone inbox", `document.querySelector(".back")`)
	if eval[bool](b, `getComputedStyle(document.querySelector(".list-col")).display !== "none"`) {
		t.Error("at phone width the conversation list should give way to the conversation")
	}
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the phone page is %dpx wide: it scrolls sideways", w)
	}
	b.shot("14-phone-conversation")
	b.run(chromedp.ScrollIntoView(css(".panel-col")))
	b.shot("15-phone-panel")
}
