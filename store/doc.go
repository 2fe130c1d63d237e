// Package store owns Crisp's durable state for the identity model: workspaces,
// members, API keys, customers, accounts, traits, memberships and events, on
// SQLite (the embedded default) or PostgreSQL behind database/sql.
//
// Every table carries workspace_id and every method takes a workspace, so two
// workspaces never see each other's rows. Both engines run the same embedded
// migrations and the same SQL, written with ? placeholders and rebound for
// PostgreSQL; the only dialect-specific code is how a connection is opened.
//
// The store must never decide policy, visibility or redaction: it stores and
// returns values as given. It never logs, and so never logs a secret.
package store
