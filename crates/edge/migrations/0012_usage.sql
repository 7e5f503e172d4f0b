-- Reported usage of metered products (POST /api/usage, stored by the queue
-- consumer). An event is stored once, forever, by the vendor's id, whatever
-- its contract: a redelivered message or a resent event changes nothing.
-- `day` is the UTC date of its timestamp; `late` says why an event validated
-- before a billing run was stored after that run billed its period: kept for
-- the vendor to settle, never billed.
CREATE TABLE usage_events (
  id          TEXT PRIMARY KEY,
  contract_id TEXT NOT NULL,
  product_id  TEXT NOT NULL,
  day         TEXT NOT NULL,
  quantity    TEXT NOT NULL,
  timestamp   TEXT NOT NULL,
  received_at TEXT NOT NULL,
  stored_at   TEXT NOT NULL,
  late        TEXT
);
CREATE INDEX usage_events_contract_day ON usage_events (contract_id, day);
