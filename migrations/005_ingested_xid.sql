-- 005: the transaction id that stored each row, for the cache catch-up.
-- Applied by `ltvd migrate` (src/store/migrate.c) inside one transaction
-- together with its schema_migrations row: no BEGIN or COMMIT in here.
--
-- Why: the catch-up re-reads what other writers stored since its last look.
-- Finding that by time (ingested_at against the oldest xact_start in
-- pg_stat_activity) can skip a batch: a transaction's start time is taken
-- before pg_stat_activity shows it, and sessions of other roles show none.
-- Transaction ids have no such gap: every id below the xmin of a snapshot
-- has ended, so a look that takes xmin first and then reads the rows with
-- ingested_xid >= the previous look's xmin misses nothing.

ALTER TABLE transactions
    ADD COLUMN ingested_xid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
COMMENT ON COLUMN transactions.ingested_xid IS
    'Id (64-bit, with epoch) of the PostgreSQL transaction that stored the row.';

-- Ids grow with insertion order: BRIN costs next to nothing per insert.
CREATE INDEX transactions_ingested_xid_brin ON transactions USING brin (ingested_xid);
COMMENT ON INDEX transactions_ingested_xid_brin IS
    'Rows stored by transactions at or after a snapshot''s xmin: the cache catch-up (store/customers.c).';
