-- Consent statistics and the dashboard's audit log (binding CONSENT_DB).
-- Nothing personal is counted: no consent id, IP, path or user agent is stored with a count.

-- Page views the worker rewrote, by UTC day, the consent in effect, country, language and
-- device class. Written in batches from each isolate (STATS_FLUSH_SECONDS).
CREATE TABLE page_views (
  day TEXT NOT NULL,                 -- YYYY-MM-DD
  consent TEXT NOT NULL,             -- undecided | rejected | analytics | marketing | all
  country TEXT NOT NULL,             -- two letters, or '--'
  lang TEXT NOT NULL,                -- en | es
  device TEXT NOT NULL,              -- mobile | tablet | desktop
  views INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, consent, country, lang, device)
) WITHOUT ROWID;

-- Decisions recorded, by day, method, what they granted and GPC.
CREATE TABLE decisions (
  day TEXT NOT NULL,
  method TEXT NOT NULL,              -- accept_all | reject_all | save | preferences | withdraw | api
  analytics INTEGER NOT NULL,        -- 0 | 1
  marketing INTEGER NOT NULL,        -- 0 | 1
  gpc INTEGER NOT NULL,              -- 0 | 1
  country TEXT NOT NULL,
  lang TEXT NOT NULL,
  device TEXT NOT NULL,
  decisions INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, method, analytics, marketing, gpc, country, lang, device)
) WITHOUT ROWID;

-- Every admin look-up, export and refused attempt, each entry carrying the hash of the one
-- before (crates/consent-core/src/dashboard/audit.rs). No route updates or deletes a row; the
-- primary key on seq keeps two racing appends from forking the chain.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  who TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  ip TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

-- The log is append-only in the database too: an UPDATE or DELETE fails.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
