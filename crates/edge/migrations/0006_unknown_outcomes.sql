-- Charges whose answer was lost (a timeout, a dropped connection) are
-- settled later from what is recorded here, never charged a second time.
--
-- A contract change charged by card keeps, while its payment is pending,
-- everything applying it writes (decided before any money moved), so that
-- whoever learns the charge went through writes exactly what was charged.
ALTER TABLE amendments ADD COLUMN plan TEXT;
-- When a billing attempt was claimed (wall clock): a claim left PENDING by a
-- run that stopped is taken over once it is older than a minute.
ALTER TABLE payment_attempts ADD COLUMN claimed_at TEXT;
