-- A late usage event (stored after its period was billed) is listed once in a
-- billing run's report: the run that listed it.
ALTER TABLE usage_events ADD COLUMN late_reported_in TEXT;
CREATE INDEX usage_events_late ON usage_events (late) WHERE late IS NOT NULL;
