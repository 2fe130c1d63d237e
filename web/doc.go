// Package web is crisp's embedded workspace UI: the inbox (conversations,
// streamed AI drafts, the active-account panel, asking about an account),
// the catalog with its in-app editor, the policies with a "try it" panel,
// and the AI usage review over the audit trail. It serves server-rendered
// Go templates with htmx and a little plain JavaScript, all embedded: no
// node, no network, no external fonts, scripts or CDNs.
//
// Routes (everything else stays with the proxy and the APIs):
//
//	GET  /                              → /ui/inbox
//	GET  /static/…                      htmx, CSS, JS
//	GET  /ui/signin  POST /ui/signin  POST /ui/signout
//	GET  /ui/inbox[/{id}]               conversation list, conversation, account panel
//	POST /ui/inbox/{id}/draft           SSE: delta… then done (proxy.Draft)
//	POST /ui/inbox/{id}/ask             SSE: delta… then done (proxy.Ask)
//	POST /ui/inbox/{id}/context         what the AI sees (proxy.ContextFor)
//	POST /ui/inbox/{id}/reply           append the agent's reply (with the draft's audit id)
//	POST /ui/inbox/{id}/state           status, outcome, CSAT
//	GET  /ui/catalog[?q=]               fields and events
//	GET  /ui/catalog/{fields|events}/{name}        one entry: matches and recent AI uses
//	GET  /ui/catalog/{fields|events}/{name}/edit   admins: the editor (POST saves)
//	GET  /ui/catalog/history            who changed what, when, the diff
//	GET  /ui/policies[?member=&customer=&action=&signed=]   rules as written, try it
//	GET  /ui/policies/{file}/edit       admins: edit a rules file (POST saves)
//	GET  /ui/keys  POST /ui/keys        admins: list and create crisp keys
//	POST /ui/keys/{id}/revoke           admins: revoke a stored key
//	GET  /ui/usage[?filters]            the audit trail; /ui/usage/{id} one record
//	GET  /ui/usage/verify               chain verification (admins)
//	GET  /ui/usage/export?format=       jsonl or csv (admins)
//
// Members sign in with their email and password (bcrypt, stored with the
// member). A session is a random token in an HttpOnly, SameSite=Lax cookie
// (Secure over TLS); only its sha256 is kept, in memory, so a restart signs
// everyone out and several replicas need sticky sessions until sessions move
// to the store. Every form and every state-changing request carries the
// session's CSRF token (a hidden field, or the X-CSRF-Token header from
// JavaScript and htmx); the sign-in form uses a double-submit cookie.
//
// Roles: members (any role but admin) view, draft and reply, and see their
// own AI uses; admins also edit the catalog, the policies and the keys,
// and review, verify and export the whole audit trail.
//
// Keys made here are stored as their prefix and sha256 only (the key is
// shown once, on the page that made it); crisp.yaml's keys are listed
// when Options.ConfigKeys carries them. The policy editor compiles the
// whole policy set with the edited file against the catalog and saves
// nothing that does not compile; it writes the file only when the
// definitions are on disk, where the server's watcher reloads it, and
// refuses with the embedded, read-only example. Every key change and
// policy edit writes its admin.key or admin.policy audit record first:
// no audit, no change.
//
// The catalog editor changes an entry's description, owner and per-use
// visibility, asks to confirm an edit that widens a use, writes an
// admin.catalog audit record first (no audit, no edit), and keeps the
// history (who, when, the diff) in the store. With definitions on disk it
// rewrites catalog.yaml there through its YAML tree: comments survive,
// blank lines between entries do not. With the embedded example the edits
// stay in the store as an overlay (ApplyOverlay), which the server replays
// onto the catalog when it loads its definitions, so edits reach AI
// requests at the next start either way.
//
// Every AI use goes through package proxy (Draft, Ask, ContextFor), which
// decides policy and writes the audit record; this package never calls a
// provider, never decides policy itself, and never renders a value the
// policy resolves to hidden for the member's use ("support"): hidden fields
// are absent, masked ones masked.
package web
