-- Upstream channels (MODELS.md §Routing): one row per submission of a task to an upstream
-- channel, and the operator's pause switch per channel.
--
-- While a task is upstream its `tasks.status` stays `queued` until the channel reports it running;
-- this row carries the sub-state. `submit_state`:
--   submitting  recorded before the create call; after a crash or an ambiguous failure (timeout)
--               it is reconciled by listing the upstream's tasks before any resubmission.
--   submitted   the upstream accepted it (`upstream_id` set); polled from `next_poll_at` (ms).
--   done        the reelay task is terminal and nothing is left to do upstream.
-- Times ending in `_ms` are Unix milliseconds (polling needs sub-second steps).

CREATE TABLE upstream_tasks (
    task_id         TEXT PRIMARY KEY REFERENCES tasks(id),
    channel         TEXT NOT NULL,
    upstream_model  TEXT NOT NULL,
    upstream_id     TEXT,
    submit_state    TEXT NOT NULL,
    marker          TEXT NOT NULL,
    submit_started_ms BIGINT NOT NULL,
    submitted_ms    BIGINT,
    next_poll_ms    BIGINT NOT NULL,
    polls           BIGINT NOT NULL DEFAULT 0,
    misses          BIGINT NOT NULL DEFAULT 0,
    downloads       BIGINT NOT NULL DEFAULT 0,
    last_status     TEXT,
    last_error      TEXT,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX upstream_tasks_due ON upstream_tasks (channel, submit_state, next_poll_ms);
CREATE INDEX upstream_tasks_by_upstream_id ON upstream_tasks (channel, upstream_id);

CREATE TABLE channel_state (
    name        TEXT PRIMARY KEY,
    paused      BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
