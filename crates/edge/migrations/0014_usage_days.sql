-- Per-day aggregates of billable usage, which the billing run and the usage
-- view read instead of the raw events. Each consumer batch adds its own part
-- (`part`: the id of the first event it stored) for each contract, product
-- and day it touched, in the same D1 batch as its raw events: a part never
-- conflicts with another consumer's, and a redelivered batch finds its ids
-- stored and adds nothing. A day's usage is the sum of its parts' `total`
-- (SUM) or the largest `peak` (MAX), added up exactly (decimal text) in Rust.
-- Late events (stored after their period was billed) are in no part.
CREATE TABLE usage_days (
  contract_id TEXT NOT NULL,
  day         TEXT NOT NULL,
  product_id  TEXT NOT NULL,
  part        TEXT NOT NULL,
  total       TEXT NOT NULL,
  peak        TEXT NOT NULL,
  events      INTEGER NOT NULL,
  PRIMARY KEY (contract_id, day, product_id, part)
);
-- Events stored before this migration: one part each (exact, no arithmetic in SQL).
INSERT INTO usage_days (contract_id, day, product_id, part, total, peak, events)
  SELECT contract_id, day, product_id, id, quantity, quantity, 1 FROM usage_events WHERE late IS NULL;
