-- Each redemption of a promotion code (the catalog's promotionCodes), by the
-- code's comparison key (lower case), across catalog versions. FINALIZE
-- inserts the next n in the batch that claims the session, guarded so that
-- a code's maxRedemptions is never exceeded, even by concurrent FINALIZEs.
CREATE TABLE promotion_redemptions (
  code_key    TEXT    NOT NULL,
  n           INTEGER NOT NULL,
  session_id  TEXT    NOT NULL,
  redeemed_at TEXT    NOT NULL,
  PRIMARY KEY (code_key, n)
);
CREATE INDEX promotion_redemptions_session ON promotion_redemptions (session_id);
