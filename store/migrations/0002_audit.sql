-- The audit trail (package audit). Portable SQL: one file serves SQLite and
-- PostgreSQL. Timestamps are BIGINT unix microseconds UTC; bodies are TEXT JSON.
--
-- audit_records is append-only: the store has no method that updates a row,
-- and only retention pruning deletes, oldest first, leaving a checkpoint that
-- carries the last pruned hash. Each row's body is the canonical JSON the
-- hash covers; the other columns copy fields of it so reviews can filter,
-- and verification checks that they still agree with the body.

CREATE TABLE audit_records (
    workspace_id TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    member       TEXT    NOT NULL DEFAULT '',
    customer_id  TEXT    NOT NULL DEFAULT '',
    account_id   TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL DEFAULT '',
    decision     TEXT    NOT NULL DEFAULT '',
    model        TEXT    NOT NULL DEFAULT '',
    provider     TEXT    NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,
    body         TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);
CREATE UNIQUE INDEX audit_records_id ON audit_records (workspace_id, id);
CREATE INDEX audit_records_at ON audit_records (workspace_id, at);
CREATE INDEX audit_records_customer ON audit_records (workspace_id, customer_id, seq);

-- The head of each workspace's chain. Appends lock this row (FOR UPDATE on
-- PostgreSQL), so replicas sharing one database never fork a chain.
CREATE TABLE audit_chain_heads (
    workspace_id TEXT   NOT NULL PRIMARY KEY,
    seq          BIGINT NOT NULL,
    hash         TEXT   NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- A use that is about to reach a provider. The row goes when its outcome
-- joins the chain; one left behind by a crashed writer becomes an
-- "interrupted" record.
CREATE TABLE audit_intents (
    workspace_id TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    owner        TEXT   NOT NULL,
    at           BIGINT NOT NULL,
    body         TEXT   NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
-- No index on owner: the table holds only the uses in flight.

-- Live audit writers (crisp processes), so one replica can tell an intent of
-- a crashed process from one of a process still serving it.
CREATE TABLE audit_writers (
    owner        TEXT   NOT NULL PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- Checkpoints: the chain head at a moment, ed25519-signed when a key is
-- configured, and after pruning the last pruned record's seq and hash.
CREATE TABLE audit_checkpoints (
    workspace_id TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    at           BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    hash         TEXT   NOT NULL,
    pruned_seq   BIGINT NOT NULL DEFAULT 0,
    pruned_hash  TEXT   NOT NULL DEFAULT '',
    public_key   TEXT   NOT NULL DEFAULT '',
    signature    TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (workspace_id, seq);
