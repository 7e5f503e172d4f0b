-- QuoteKit edge API: catalogs, sign-up sessions and what FINALIZE creates.
-- Money is stored as decimal TEXT (never REAL); dates as YYYY-MM-DD TEXT,
-- instants as RFC 3339 UTC TEXT. Documents the engine writes (quote,
-- contract, invoice) are kept whole as JSON TEXT beside their indexed columns.

-- Every published catalog is an immutable version; the current one is the highest.
CREATE TABLE catalog_versions (
  version     INTEGER PRIMARY KEY,
  etag        TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  created_at  TEXT    NOT NULL
);

-- A sign-up session ("shopping cart"). `version` is bumped by every write;
-- session_events' primary key makes two writers of one version collide.
CREATE TABLE sessions (
  id                  TEXT    PRIMARY KEY,
  version             INTEGER NOT NULL,
  status              TEXT    NOT NULL CHECK (status IN ('OPEN', 'FINALIZING', 'FINALIZED', 'CANCELED')),
  catalog_version     INTEGER NOT NULL REFERENCES catalog_versions(version),
  customer            TEXT,            -- the request's customer object (JSON)
  bill_group          TEXT,            -- the request's billGroup object (JSON)
  quote_request       TEXT,            -- the request's quote object (JSON)
  quote               TEXT,            -- the engine's quote for it (JSON)
  quote_id            TEXT    NOT NULL,
  quote_custom_id     TEXT,
  account_id          TEXT    NOT NULL, -- reserved at creation, created at FINALIZE
  contact_id          TEXT    NOT NULL,
  stripe_customer_id  TEXT,
  setup_intent_id     TEXT,
  setup_client_secret TEXT,
  payment_method_id   TEXT,            -- Stripe PaymentMethod, verified and the customer's default
  payment_method_name TEXT,
  payment_method_card TEXT,            -- brand and last4 (JSON), for display
  charge_attempts     INTEGER NOT NULL DEFAULT 0,
  last_error          TEXT,            -- {code, message, declineCode?} of the last failed payment (JSON)
  bill_group_id       TEXT,
  contract_id         TEXT,
  invoice_id          TEXT,
  payment_id          TEXT,
  created_at          TEXT    NOT NULL,
  updated_at          TEXT    NOT NULL
);

CREATE TABLE session_events (
  session_id  TEXT    NOT NULL REFERENCES sessions(id),
  version     INTEGER NOT NULL,
  action      TEXT    NOT NULL,
  at          TEXT    NOT NULL,
  PRIMARY KEY (session_id, version)
);

CREATE TABLE accounts (
  id                  TEXT PRIMARY KEY,
  custom_id           TEXT UNIQUE,     -- the vendor's own reference (extCustomerRef)
  name                TEXT NOT NULL,
  currency            TEXT NOT NULL,
  billing_address     TEXT,            -- JSON
  stripe_customer_id  TEXT,
  default_payment_method_id TEXT,
  session_id          TEXT NOT NULL UNIQUE,
  created_at          TEXT NOT NULL
);

CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  name        TEXT NOT NULL,
  email       TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE payment_methods (
  id                        TEXT PRIMARY KEY,
  account_id                TEXT NOT NULL REFERENCES accounts(id),
  stripe_payment_method_id  TEXT NOT NULL,
  name                      TEXT,
  card                      TEXT,      -- JSON
  created_at                TEXT NOT NULL
);

CREATE TABLE bill_groups (
  id                    TEXT    PRIMARY KEY,
  account_id            TEXT    NOT NULL REFERENCES accounts(id),
  currency              TEXT    NOT NULL,
  auto_email_invoice    INTEGER NOT NULL,
  collect_automatically INTEGER NOT NULL,
  payment_method_id     TEXT,
  created_at            TEXT    NOT NULL
);

CREATE TABLE quotes (
  id               TEXT PRIMARY KEY,
  account_id       TEXT NOT NULL REFERENCES accounts(id),
  session_id       TEXT,
  custom_id        TEXT,
  status           TEXT NOT NULL CHECK (status IN ('DRAFT', 'PROCESSED')),
  catalog_version  INTEGER NOT NULL REFERENCES catalog_versions(version),
  body             TEXT NOT NULL,
  created_at       TEXT NOT NULL
);

CREATE TABLE contracts (
  id               TEXT PRIMARY KEY,
  account_id       TEXT NOT NULL REFERENCES accounts(id),
  bill_group_id    TEXT NOT NULL REFERENCES bill_groups(id),
  quote_id         TEXT NOT NULL REFERENCES quotes(id),
  catalog_version  INTEGER NOT NULL REFERENCES catalog_versions(version),
  status           TEXT NOT NULL,
  body             TEXT NOT NULL,      -- the engine's contract (JSON)
  created_at       TEXT NOT NULL
);

CREATE TABLE invoices (
  id                  TEXT PRIMARY KEY,
  account_id          TEXT NOT NULL REFERENCES accounts(id),
  contract_id         TEXT NOT NULL REFERENCES contracts(id),
  bill_group_id       TEXT NOT NULL REFERENCES bill_groups(id),
  status              TEXT NOT NULL CHECK (status IN ('OPEN', 'PAID', 'VOID')),
  invoice_date        TEXT NOT NULL,
  currency            TEXT NOT NULL,
  amount_without_tax  TEXT NOT NULL,
  tax                 TEXT NOT NULL,
  amount              TEXT NOT NULL,
  amount_due          TEXT NOT NULL,
  body                TEXT NOT NULL,   -- the invoice with its items (JSON)
  created_at          TEXT NOT NULL
);

CREATE TABLE payments (
  id                        TEXT PRIMARY KEY,
  account_id                TEXT NOT NULL REFERENCES accounts(id),
  invoice_id                TEXT NOT NULL REFERENCES invoices(id),
  amount                    TEXT NOT NULL,
  currency                  TEXT NOT NULL,
  status                    TEXT NOT NULL,
  stripe_payment_intent_id  TEXT NOT NULL UNIQUE,
  created_at                TEXT NOT NULL
);

-- An account's customId is claimed by the session that finalizes with it
-- before any payment is taken, so two sessions cannot both charge for it.
CREATE TABLE custom_id_claims (
  custom_id   TEXT PRIMARY KEY,
  session_id  TEXT NOT NULL
);

-- Idempotency-Key: the first response to (principal, key) is kept and replayed.
CREATE TABLE idempotency_keys (
  principal     TEXT    NOT NULL,
  key           TEXT    NOT NULL,
  request_hash  TEXT    NOT NULL,
  status        INTEGER NOT NULL,
  body          TEXT    NOT NULL,
  created_at    TEXT    NOT NULL,
  PRIMARY KEY (principal, key)
);
