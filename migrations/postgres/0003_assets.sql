-- Assets (API.md §3): the SP library, Full-route audited assets and real-person records share one
-- table (`purpose`), so intake, storage layout and the create-time lookup are one code path.
-- Portable SQL (TEXT, BIGINT) so the PostgreSQL mirror is the same file.

CREATE TABLE assets (
    id            TEXT PRIMARY KEY,          -- asset_… (library, audit) or rp_… (realperson)
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    purpose       TEXT NOT NULL,             -- library | audit | realperson
    kind          TEXT NOT NULL,             -- image | video | audio
    name          TEXT NOT NULL,
    source_url    TEXT,                      -- NULL for multipart uploads
    status        TEXT NOT NULL,             -- Processing | Active | Failed
    reason        TEXT,                      -- why Failed (probe refusal or review rejection)
    review        TEXT,                      -- NULL (no review) | pending | approved | rejected
    reviewed_by   TEXT,                      -- `auto` or the admin actor
    reviewed_at   BIGINT,
    object_key    TEXT,                      -- assets/{account_id}/{id} once stored
    format        TEXT,                      -- sniffed format (png, mp4, wav, …)
    width         BIGINT,
    height        BIGINT,
    duration_ms   BIGINT,
    size_bytes    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX assets_by_account ON assets (account_id, created_at DESC);
CREATE INDEX assets_by_review ON assets (review, created_at);
