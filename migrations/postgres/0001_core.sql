-- Core schema: accounts, keys, tasks, ledger, idempotency, meta.
-- Kept to the SQL subset SQLite and PostgreSQL share, except the ledger's auto-increment key;
-- migrations/postgres holds its PostgreSQL mirror (same name).

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    balance       BIGINT NOT NULL DEFAULT 0,
    spent_total   BIGINT NOT NULL DEFAULT 0,
    webhook_secret TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    lookup        TEXT NOT NULL UNIQUE,
    secret_hash   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    rpm           BIGINT,
    max_in_flight BIGINT
);

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    key_id        TEXT,
    model         TEXT NOT NULL,
    status        TEXT NOT NULL,
    progress      BIGINT NOT NULL DEFAULT 0,
    request       TEXT NOT NULL,
    cost_credits  BIGINT NOT NULL,
    cost_unit     TEXT NOT NULL,
    cost_seconds  BIGINT NOT NULL,
    refunded      BIGINT NOT NULL DEFAULT 0,
    channel       TEXT,
    result        TEXT,
    error_code    TEXT,
    error_message TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    lease_until   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    completed_at  BIGINT,
    expired       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tasks_by_account ON tasks (account_id, created_at DESC, id DESC);
CREATE INDEX tasks_by_status ON tasks (status, created_at);

CREATE TABLE ledger (
    seq           BIGSERIAL PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    credits       BIGINT NOT NULL,
    task_id       TEXT,
    balance_after BIGINT NOT NULL,
    note          TEXT
);
CREATE INDEX ledger_by_account ON ledger (account_id, seq DESC);
-- A task is charged at most once and refunded at most once.
CREATE UNIQUE INDEX ledger_one_per_task_kind ON ledger (task_id, kind) WHERE task_id IS NOT NULL;

CREATE TABLE idempotency (
    account_id    TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    body_hash     TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);

CREATE TABLE meta (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
