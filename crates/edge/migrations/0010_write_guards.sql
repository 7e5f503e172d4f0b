-- A guarded write: a batch that must not go on when an UPDATE before it
-- changed nothing (someone else changed the row first) follows it with
--   INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0
-- which then collides with this row, and the whole batch writes nothing.
CREATE TABLE write_guards (id TEXT PRIMARY KEY, why TEXT NOT NULL);
INSERT INTO write_guards (id, why) VALUES ('changed-nothing', 'a guarded UPDATE found its row changed');
