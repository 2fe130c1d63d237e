-- Conversations (the inbox) and the history of catalog edits made in the
-- workspace UI. Portable SQL: one file serves SQLite and PostgreSQL.
-- Timestamps are BIGINT unix microseconds UTC; booleans are INTEGER 0/1.

-- A support conversation with one customer. identity_verified records that
-- the customer's identity was signed (widget identity verification) when the
-- conversation came in, so AI uses on it count as signed. outcome is '' until
-- the conversation is resolved or escalated; csat is 0 until rated (1-5).
CREATE TABLE conversations (
    workspace_id      TEXT    NOT NULL,
    id                TEXT    NOT NULL CHECK (id <> ''),
    customer_id       TEXT    NOT NULL DEFAULT '',
    account_id        TEXT    NOT NULL DEFAULT '',
    channel           TEXT    NOT NULL DEFAULT 'chat',
    subject           TEXT    NOT NULL DEFAULT '',
    identity_verified INTEGER NOT NULL DEFAULT 0 CHECK (identity_verified IN (0, 1)),
    identity_method   TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
    outcome           TEXT    NOT NULL DEFAULT '' CHECK (outcome IN ('', 'resolved', 'escalated')),
    csat              INTEGER NOT NULL DEFAULT 0 CHECK (csat BETWEEN 0 AND 5),
    assignee          TEXT    NOT NULL DEFAULT '',
    message_count     BIGINT  NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
-- The inbox lists the most recently active conversations first.
CREATE INDEX conversations_recent ON conversations (workspace_id, updated_at, id);
CREATE INDEX conversations_customer ON conversations (workspace_id, customer_id);
CREATE INDEX conversations_account ON conversations (workspace_id, account_id);

-- Messages in order (seq from 1). audit_id links an agent's reply to the
-- audit record of the AI draft or answer it used.
CREATE TABLE conversation_messages (
    workspace_id    TEXT   NOT NULL,
    conversation_id TEXT   NOT NULL,
    seq             BIGINT NOT NULL,
    author          TEXT   NOT NULL CHECK (author IN ('customer', 'agent')),
    member          TEXT   NOT NULL DEFAULT '',
    text            TEXT   NOT NULL,
    audit_id        TEXT   NOT NULL DEFAULT '',
    at              BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, conversation_id, seq),
    FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id) ON DELETE CASCADE
);

-- Catalog edits made in the UI: who, when, what changed (diff text), and
-- the change itself (patch_json) so edits kept as an overlay on definitions
-- that are not on disk can be replayed onto them. mode is 'file' when the
-- edit rewrote catalog.yaml on disk, 'overlay' when it lives only here.
CREATE TABLE catalog_edits (
    workspace_id   TEXT   NOT NULL,
    seq            BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    member         TEXT   NOT NULL,
    target         TEXT   NOT NULL,
    mode           TEXT   NOT NULL CHECK (mode IN ('file', 'overlay')),
    diff           TEXT   NOT NULL,
    patch_json     TEXT   NOT NULL,
    before_version TEXT   NOT NULL DEFAULT '',
    after_version  TEXT   NOT NULL DEFAULT '',
    audit_id       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, seq)
);
