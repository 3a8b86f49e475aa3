-- The audit log gets its own key (AUDIT_LOG_KEY, derived from no other) and a count per entry
-- (refused requests counted together: crates/consent-core/src/dashboard/audit/refusals.rs).
-- Entries written before were chained under a key derived from RECORD_ENCRYPTION_KEY and hashed
-- without a count: they are kept apart, unchanged, as audit_log_v1 (its append-only triggers go
-- with it), and the new chain starts at 1. Its head is also kept in KV (audit:head).
ALTER TABLE audit_log RENAME TO audit_log_v1;

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  who TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  ip TEXT NOT NULL,
  count INTEGER NOT NULL,            -- how many requests the entry stands for (1 but for counted refusals)
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

-- Append-only in the database too: an UPDATE or DELETE fails.
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
