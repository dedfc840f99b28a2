-- Files uploaded through the vendor's `POST /files/upload` (DIALECTS.md §1): each belongs to its
-- account and is kept until `expires_at` (the results retention; NULL = kept), when the sweeper
-- deletes its object and then the row.
-- Portable SQL: the other backend's directory holds the same file.

CREATE TABLE uploads (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    object_key  TEXT NOT NULL,
    filename    TEXT NOT NULL,
    size        BIGINT NOT NULL,
    mime_type   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at) WHERE expires_at IS NOT NULL;
