-- Pages the worker rewrote that are not page views as GA4 would count them, by UTC day and
-- reason, so marketing sees the volume (README, "For marketing: the consent dashboard"):
-- known bots (the isbot package's user-agent patterns) and prefetches or prerenders
-- (Sec-Purpose, Purpose). Written in the same batches as page_views. Nothing personal: a day,
-- a reason, a count.
CREATE TABLE page_views_excluded (
  day TEXT NOT NULL,                 -- YYYY-MM-DD
  reason TEXT NOT NULL,              -- bot | prefetch
  views INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, reason)
) WITHOUT ROWID;
