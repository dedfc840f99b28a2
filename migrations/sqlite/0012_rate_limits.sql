-- Rate limits paced evenly (GCRA, the algorithm of the `governor` crate): one row per limited
-- scope (`key:<key_id>`, `channel:<name>`, `poll:<name>`) holding its "theoretical arrival time"
-- in microseconds since the epoch. A request is let through when the TAT is not later than now
-- (plus how far ahead the caller may book), and moves the TAT one slot (60 s / rpm) on, in one
-- conditional upsert, so the limit holds exactly across replicas. Replaces the fixed per-minute
-- windows of 0006, which let a minute's budget go in a burst and then stalled.
-- Portable SQL: migrations/sqlite and migrations/postgres hold the same file.

DROP TABLE rate_windows;

CREATE TABLE rate_limits (
    scope  TEXT PRIMARY KEY,
    tat_us BIGINT NOT NULL
);
CREATE INDEX rate_limits_by_tat ON rate_limits (tat_us);
