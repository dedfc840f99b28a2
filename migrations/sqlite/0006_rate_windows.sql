-- Request and submission counters per fixed one-minute window, shared by every replica: per-key
-- RPM (API.md §9 `limits.*`) and per-channel create RPM (MODELS.md §Routing). `scope` is
-- `key:<key_id>` or `channel:<name>`; old windows are deleted by the sweeper.
-- Portable SQL: migrations/postgres holds the same file.

CREATE TABLE rate_windows (
    scope        TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (scope, window_start)
);
CREATE INDEX rate_windows_by_start ON rate_windows (window_start);

-- One poller per remote channel across replicas: the process holding the lease polls (so the
-- channel's `poll_rpm` holds globally); another takes over when the lease runs out.
ALTER TABLE channel_state ADD COLUMN poller TEXT;
ALTER TABLE channel_state ADD COLUMN poller_until_ms BIGINT NOT NULL DEFAULT 0;

-- Per-key in-flight limit: the create path counts a key's queued + processing tasks.
CREATE INDEX tasks_by_key_status ON tasks (key_id, status);
