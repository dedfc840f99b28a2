-- Tasks made through the Ark and OpenAI doors (DIALECTS.md §2, §3).
-- `client`: JSON of what the door keeps for its own view (the model as the client named it, the
--   door, Ark's safety_identifier and execution_expires_after, OpenAI's remixed_from_video_id);
--   NULL for tasks of the seed routes.
-- `start_deadline`: a task still queued at this time fails as `expired`, refunded (Ark's
--   execution_expires_after).
-- `hidden_at`: a terminal task its owner deleted (Ark/OpenAI DELETE): it leaves the owner's
--   reads and listings in every dialect, its files are deleted, its ledger rows stay.
-- Portable SQL: the other backend's directory holds the same file.

ALTER TABLE tasks ADD COLUMN client TEXT;
ALTER TABLE tasks ADD COLUMN start_deadline BIGINT;
ALTER TABLE tasks ADD COLUMN hidden_at BIGINT;
CREATE INDEX tasks_start_deadline ON tasks (start_deadline) WHERE start_deadline IS NOT NULL;
