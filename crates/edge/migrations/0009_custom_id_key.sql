-- customId is compared case-insensitively and Unicode-normalised (NFKC, lower
-- case): "ACME", "acme" and full-width "ＡＣＭＥ" are one account. The key is
-- what is unique and looked up; custom_id keeps the vendor's spelling.
-- Existing rows get SQLite's lower() (ASCII), which is the key of ASCII ids.
ALTER TABLE accounts ADD COLUMN custom_id_key TEXT;
UPDATE accounts SET custom_id_key = lower(custom_id) WHERE custom_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_custom_id_key ON accounts (custom_id_key);
UPDATE custom_id_claims SET custom_id = lower(custom_id);
