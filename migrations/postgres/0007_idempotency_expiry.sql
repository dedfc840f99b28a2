-- Idempotency records are kept for 24 hours (API.md §2); the sweeper deletes older ones by
-- `created_at`, so the table holds one day of keys instead of growing without end.
-- Portable SQL: the other backend's directory holds the same file.

CREATE INDEX idempotency_by_created ON idempotency (created_at);
