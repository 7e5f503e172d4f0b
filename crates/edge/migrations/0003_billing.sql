-- The billing run: each contract line's period is invoiced once (the key below
-- is claimed in the invoice's own batch), every charge attempt is recorded,
-- and every run leaves a report.

CREATE TABLE billed_periods (
  contract_id   TEXT NOT NULL REFERENCES contracts(id),
  offering_id   TEXT NOT NULL,
  period_start  TEXT NOT NULL,
  invoice_id    TEXT NOT NULL REFERENCES invoices(id),
  PRIMARY KEY (contract_id, offering_id, period_start)
);

-- Dunning: how many charges were tried, and when the next one is due.
ALTER TABLE invoices ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN next_attempt_on TEXT;
ALTER TABLE invoices ADD COLUMN first_failed_on TEXT;
CREATE INDEX invoices_to_collect ON invoices (status, next_attempt_on);

-- One row per charge attempt; the key makes two runs unable to try the same attempt.
CREATE TABLE payment_attempts (
  invoice_id                TEXT    NOT NULL REFERENCES invoices(id),
  attempt                   INTEGER NOT NULL,
  at                        TEXT    NOT NULL,
  status                    TEXT    NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  stripe_payment_intent_id  TEXT,
  decline_code              TEXT,
  message                   TEXT,
  PRIMARY KEY (invoice_id, attempt)
);

CREATE TABLE billing_runs (
  id          TEXT PRIMARY KEY,
  run_date    TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  report      TEXT NOT NULL
);
