-- The audit chain is stored in blocks: the records one group commit appended
-- to one workspace's chain, in seq order, as one row. A row per record cost
-- SQLite far more per record (five b-trees, sixteen bound values) than the
-- record's bytes; a block costs little more than its bytes. body is the
-- store's own binary encoding (store/auditblock.go) of each record's filter
-- columns, canonical JSON body, prev_hash and hash. min_at and max_at bound
-- the records' times, for time filters and look-ups by id.
CREATE TABLE audit_blocks (
    workspace_id TEXT   NOT NULL,
    first_seq    BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    min_at       BIGINT NOT NULL,
    max_at       BIGINT NOT NULL,
    body         BYTEA  NOT NULL,
    PRIMARY KEY (workspace_id, first_seq)
);
-- Look-ups by time (a record's id names the time it began): a block ends
-- soon after the records it holds began, so scanning blocks by their last
-- time from the record's own finds it within a few.
CREATE INDEX audit_blocks_time ON audit_blocks (workspace_id, max_at);

-- Which blocks hold a record with a filter value ("member:maya@acme.example",
-- "customer_id:usr_2481", …), so a filtered list reads only those blocks.
CREATE TABLE audit_terms (
    workspace_id TEXT   NOT NULL,
    term         TEXT   NOT NULL,
    first_seq    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, term, first_seq)
);
-- A block's terms, for verification and pruning (appended in seq order, so
-- a write touches only its last page).
CREATE INDEX audit_terms_block ON audit_terms (workspace_id, first_seq);

-- Records written by earlier versions stay in audit_records until the store
-- moves them into blocks when it opens (store.DB.moveAuditRows); its indexes
-- are no longer needed.
DROP INDEX audit_records_id;
DROP INDEX audit_records_at;
DROP INDEX audit_records_customer;
