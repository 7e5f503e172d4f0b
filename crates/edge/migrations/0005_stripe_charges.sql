-- One row per charge QuoteKit starts: our key for it and the PaymentIntent
-- created (unconfirmed) for it, written before the PaymentIntent is
-- confirmed. A retry after a lost answer finds the PaymentIntent here and
-- asks Stripe where it stands instead of charging again: no customer is
-- charged twice even where Stripe's Idempotency-Key is not honoured.
CREATE TABLE stripe_charges (
  key TEXT PRIMARY KEY,
  payment_intent_id TEXT NOT NULL,
  created_at TEXT NOT NULL
);
