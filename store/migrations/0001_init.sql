-- The identity model. Portable SQL: one file serves SQLite and PostgreSQL.
-- Timestamps are BIGINT unix microseconds UTC; JSON is TEXT.
-- Rows reference workspaces by value only (no foreign key), so ingestion into a
-- workspace never fails on ordering; EnsureWorkspace records the name.

CREATE TABLE workspaces (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    workspace_id  TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    name          TEXT   NOT NULL DEFAULT '',
    role          TEXT   NOT NULL DEFAULT '',
    teams_json    TEXT   NOT NULL DEFAULT '[]',
    password_hash TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, email)
);

CREATE TABLE api_keys (
    workspace_id   TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    prefix         TEXT   NOT NULL,
    hash           TEXT   NOT NULL,
    name           TEXT   NOT NULL DEFAULT '',
    kind           TEXT   NOT NULL CHECK (kind IN ('member', 'workflow')),
    member         TEXT   NOT NULL DEFAULT '',
    role           TEXT   NOT NULL DEFAULT '',
    teams_json     TEXT   NOT NULL DEFAULT '[]',
    actions_json   TEXT   NOT NULL DEFAULT '[]',
    default_action TEXT   NOT NULL DEFAULT '',
    models_json    TEXT   NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    PRIMARY KEY (workspace_id, id)
);
-- Key lookup happens on every request, before the workspace is known.
CREATE INDEX api_keys_prefix ON api_keys (prefix);

CREATE TABLE accounts (
    workspace_id TEXT   NOT NULL,
    id           TEXT   NOT NULL CHECK (id <> ''),
    name         TEXT   NOT NULL DEFAULT '',
    plan         TEXT   NOT NULL DEFAULT '',
    subscription TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE customers (
    workspace_id TEXT   NOT NULL,
    id           TEXT   NOT NULL CHECK (id <> ''),
    email        TEXT   NOT NULL DEFAULT '',
    name         TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX customers_email ON customers (workspace_id, email);

CREATE TABLE memberships (
    workspace_id TEXT   NOT NULL,
    customer_id  TEXT   NOT NULL,
    account_id   TEXT   NOT NULL,
    role         TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, customer_id, account_id),
    FOREIGN KEY (workspace_id, customer_id) REFERENCES customers (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, account_id) REFERENCES accounts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX memberships_account ON memberships (workspace_id, account_id);

-- Traits live in their own rows so lists can filter on them (key == value).
CREATE TABLE traits (
    workspace_id TEXT   NOT NULL,
    subject_kind TEXT   NOT NULL CHECK (subject_kind IN ('customer', 'account')),
    subject_id   TEXT   NOT NULL,
    key          TEXT   NOT NULL CHECK (key <> ''),
    value_json   TEXT   NOT NULL,
    type         TEXT   NOT NULL,
    source       TEXT   NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, subject_kind, subject_id, key)
);
CREATE INDEX traits_filter ON traits (workspace_id, subject_kind, key, value_json);

CREATE TABLE events (
    workspace_id    TEXT   NOT NULL,
    id              TEXT   NOT NULL CHECK (id <> ''),
    customer_id     TEXT   NOT NULL,
    account_id      TEXT   NOT NULL DEFAULT '',
    name            TEXT   NOT NULL CHECK (name <> ''),
    properties_json TEXT   NOT NULL DEFAULT '{}',
    occurred_at     BIGINT NOT NULL,
    source          TEXT   NOT NULL DEFAULT '',
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX events_journey ON events (workspace_id, customer_id, occurred_at, id);
