-- A failed task's files under `results/<task_id>/` are deleted by whoever failed it, at once.
-- `discard_pending_since` (the time it failed) asks the sweeper to delete that prefix once more
-- after a grace period, and is cleared when that delete succeeded: it retries a delete that met
-- a storage error, and removes a video that a worker stored after its task had failed under it
-- (a worker paused past its lease, then killed before it noticed).
-- Portable SQL: the other backend's directory holds the same file.

ALTER TABLE tasks ADD COLUMN discard_pending_since BIGINT;
CREATE INDEX tasks_discard_pending ON tasks (discard_pending_since) WHERE discard_pending_since IS NOT NULL;
