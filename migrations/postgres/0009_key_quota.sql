-- A key's spending quota (DIALECTS.md §1): `quota` credits at most, NULL or 0 = unlimited.
-- `quota_used` is the credits the key's tasks were charged, net of refunds; a create adds its
-- price in the transaction that charges it (only while it stays within `quota`), a refund takes
-- it back in the transaction that refunds.
-- Portable SQL: the other backend's directory holds the same file.

ALTER TABLE api_keys ADD COLUMN quota BIGINT;
ALTER TABLE api_keys ADD COLUMN quota_used BIGINT NOT NULL DEFAULT 0;
