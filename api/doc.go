// Package api serves the REST API for the identity model, as JSON with
// snake_case names, authenticated with a crisp API key (Bearer):
//
//	GET   /api/v1/customers                  list: ?limit=&cursor=&q=&trait.KEY=VALUE (see list.go)
//	GET   /api/v1/customers/{id}             {"customer":{…},"note":…}
//	PUT   /api/v1/customers/{id}             upsert {"email","name","traits","accounts":[{"account_id","role"}]}
//	PATCH /api/v1/customers/{id}/traits      merge {"key":value,…} or [{"key","value","timestamp"},…]
//	GET   /api/v1/customers/{id}/journey     {"customer_id","events":[…]} newest first, ?limit=
//	GET   /api/v1/accounts                   list, as customers
//	GET   /api/v1/accounts/{id}              {"account":{…},"note":…}
//	PUT   /api/v1/accounts/{id}              upsert {"name","plan","subscription","traits"}
//	PATCH /api/v1/accounts/{id}/traits       merge, as customers
//
// Traits merge last write wins: a patch given as a list carries each
// trait's timestamp, and an older one loses to what is stored. A patch's
// email and name (accounts: name, plan, subscription) set those columns.
// Nothing is deleted: a null value is refused. Lists page by cursor:
// next_cursor is "" on the last page.
//
// It is a governed surface, like the proxy: every value it returns passes
// the catalog first. A member key sees each field as the catalog's
// "support" use allows, a workflow key as its "automation" use allows; a
// hidden field answers "value": null with "visibility": "hidden", a masked
// one a masked rendering ("d***@acme.example", "••••"). Only keys with the
// role admin see every value. Traits the catalog does not define are kept,
// marked "cataloged": false and, failing closed, hidden from all but
// admins; a response holding one carries a note saying so. A caller may not
// filter or search on a field it cannot see, since the answer would reveal
// the value.
//
// Members may read; only keys with the role admin or of kind workflow may
// write. Errors are {"error":{"message":…,"code":…}}.
//
// This package must never return, log or echo a value the caller may not
// see, and never decide AI policy (that is the policy package's job).
package api
