-- A write that depends on a read asserts, in its own batch, that what it read
-- has not changed; the assertion is an INSERT here of a row that violates the
-- check, so a stale read fails the whole batch (nothing is ever stored).
-- The usage consumer asserts the contracts it read are at the version it read
-- (no billing run billed them meanwhile); the billing run asserts that a
-- contract's usage parts are the ones it priced (no event stored meanwhile).
CREATE TABLE stale_reads (
  ok INTEGER NOT NULL,
  CONSTRAINT stale_read CHECK (ok = 1)
);
