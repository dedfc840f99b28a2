-- Webhook deliveries (API.md §6): one row per task with a callback_url, enqueued in the same
-- transaction as the task's terminal status, so a delivery survives any crash after that commit.
-- `id` is the stable `webhook-id` sent on every attempt. Portable SQL (SQLite and PostgreSQL).

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    task_id         TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- pending (an attempt is due at next_attempt_at) | delivered | failed (gave up after max age)
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT,
    last_error      TEXT,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
-- A task reaches one terminal status, so it has at most one delivery.
CREATE UNIQUE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_account ON webhook_deliveries (account_id, created_at DESC);
