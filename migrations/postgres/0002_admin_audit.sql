-- Every admin action, with its time and actor (API.md §5).
CREATE TABLE admin_actions (
    seq       BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    detail    TEXT
);
CREATE INDEX admin_actions_by_time ON admin_actions (at DESC);
