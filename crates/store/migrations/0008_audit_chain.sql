-- The audit log becomes a hash chain (SM3, GB/T 32905): each entry carries its place in the
-- chain (seq), the hash of the entry before it and its own hash over every field. The chain's
-- head (and, after a retention run, its base) is kept in audit_chain, one row, which every
-- writing transaction reads (and on PostgreSQL locks) first. Entries written before this
-- version are chained by the migration step that follows this script (store::audit::chain_existing).
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_chain (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    base_seq BIGINT NOT NULL,
    base_hash TEXT NOT NULL,
    pruned_at TEXT
);
INSERT INTO audit_chain (id, seq, hash, base_seq, base_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE INDEX audit_log_at ON audit_log(at);
