-- Failed authentications per client and minute: past the limit
-- (AUTH_FAILURES_PER_MINUTE) a client's further failures answer 429.
CREATE TABLE auth_failures (
  client  TEXT    NOT NULL,   -- CF-Connecting-IP (Cloudflare sets it)
  minute  TEXT    NOT NULL,   -- YYYY-MM-DDTHH:MM
  count   INTEGER NOT NULL,
  PRIMARY KEY (client, minute)
);
CREATE INDEX auth_failures_by_minute ON auth_failures (minute);
