-- When the banner was last shown and last answered, for the hourly alert that the banner draws
-- impressions but no decision (crates/consent-core/src/dashboard/alerts.rs). Two rows at most;
-- times only, nothing about a visitor.
CREATE TABLE activity (
  kind TEXT PRIMARY KEY,             -- banner (page views that carried it were written) | decision (one made on it)
  at INTEGER NOT NULL                -- ms since the epoch
) WITHOUT ROWID;
