-- A usage event is known by its account and the vendor's id: two accounts
-- may send the same id (each vendor-side system numbers its own), and each is
-- an event. The table is rebuilt with the account in its key; events stored
-- before take their contract's account.
CREATE TABLE usage_events_by_account (
  account_id       TEXT NOT NULL,
  id               TEXT NOT NULL,
  contract_id      TEXT NOT NULL,
  product_id       TEXT NOT NULL,
  day              TEXT NOT NULL,
  quantity         TEXT NOT NULL,
  timestamp        TEXT NOT NULL,
  received_at      TEXT NOT NULL,
  stored_at        TEXT NOT NULL,
  late             TEXT,
  late_reported_in TEXT,
  PRIMARY KEY (account_id, id)
);
INSERT INTO usage_events_by_account (account_id, id, contract_id, product_id, day, quantity, timestamp,
  received_at, stored_at, late, late_reported_in)
  SELECT COALESCE(c.account_id, ''), e.id, e.contract_id, e.product_id, e.day, e.quantity, e.timestamp,
    e.received_at, e.stored_at, e.late, e.late_reported_in
  FROM usage_events e LEFT JOIN contracts c ON c.id = e.contract_id;
DROP TABLE usage_events;
ALTER TABLE usage_events_by_account RENAME TO usage_events;
CREATE INDEX usage_events_contract_day ON usage_events (contract_id, day);
CREATE INDEX usage_events_late ON usage_events (late) WHERE late IS NOT NULL;
