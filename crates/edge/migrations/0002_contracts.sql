-- Contract management: amendments, a version per contract (one change at a
-- time), and the account's credit balance.

ALTER TABLE contracts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE contracts ADD COLUMN updated_at TEXT;
ALTER TABLE accounts ADD COLUMN credit_balance TEXT NOT NULL DEFAULT '0';

-- Every write of a contract claims its next version: two writers of one
-- version collide on this key and the loser's batch writes nothing.
CREATE TABLE contract_events (
  contract_id  TEXT    NOT NULL REFERENCES contracts(id),
  version      INTEGER NOT NULL,
  action       TEXT    NOT NULL,
  at           TEXT    NOT NULL,
  PRIMARY KEY (contract_id, version)
);

-- A change to a contract (the amendment quote). SCHEDULED ones wait for their
-- date (the billing run applies them), REVIEW ones for an approver.
CREATE TABLE amendments (
  id               TEXT PRIMARY KEY,
  contract_id      TEXT NOT NULL REFERENCES contracts(id),
  account_id       TEXT NOT NULL REFERENCES accounts(id),
  action           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('APPLIED', 'SCHEDULED', 'REVIEW', 'REJECTED', 'FAILED', 'PAYMENT_PENDING', 'WITHDRAWN')),
  effective_date   TEXT NOT NULL,
  request          TEXT NOT NULL,   -- the operation(s) as sent (JSON)
  quote            TEXT NOT NULL,   -- the amendment quote as answered (JSON)
  catalog_version  INTEGER NOT NULL REFERENCES catalog_versions(version),
  invoice_id       TEXT,
  error            TEXT,            -- the decline, for FAILED
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX amendments_by_contract ON amendments (contract_id, created_at);

CREATE INDEX contracts_by_account ON contracts (account_id, created_at);
CREATE INDEX invoices_by_account ON invoices (account_id, created_at);
