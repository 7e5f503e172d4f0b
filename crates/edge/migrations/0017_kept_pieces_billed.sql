-- A kept piece (time on terms a change replaced) billed on an invoice keeps
-- its terms beside its claim, as the contract held them: when dunning voids
-- that invoice at a suspension, the piece is owed again and the resumption
-- bills it (nothing used is lost with a voided invoice).
ALTER TABLE billed_periods ADD COLUMN piece TEXT;
