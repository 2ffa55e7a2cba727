-- 008: what a fleet of processes needs of a model snapshot: when its fit
-- began (with created_at, when it ended) and the transaction horizon of the
-- data it saw. Applied by `ltvd migrate` (src/store/migrate.c) inside one
-- transaction together with its schema_migrations row: no BEGIN or COMMIT
-- in here.
--
-- Why: several `ltvd serve` processes share one database. One process at a
-- time fits a tenant (a session advisory lock per tenant, store/fleet.c),
-- and fit_started_at .. created_at is the time it held it, so the table
-- shows that no two fits overlapped. Every process counts the transactions
-- stored since the served snapshot's data_xmin (transactions.ingested_xid,
-- migration 005), whichever process stored them, to decide when to refit.
-- Both columns are written by the fitting process (values, no defaults or
-- volatile functions: the statement stays within what Citus pushes down);
-- rows from before this migration have NULL.

ALTER TABLE model_snapshots
    ADD COLUMN fit_started_at timestamptz,
    ADD COLUMN data_xmin bigint CHECK (data_xmin >= 0);

COMMENT ON COLUMN model_snapshots.fit_started_at IS
    'When the fit began, the fit lock held (database clock); created_at is when it was saved, still held. NULL: from before migration 008.';
COMMENT ON COLUMN model_snapshots.data_xmin IS
    'The transaction horizon (pg_snapshot_xmin, 64-bit) when the fit began: transactions rows with ingested_xid >= data_xmin are counted as new data since this snapshot (refit_after_txns). NULL: from before migration 008.';
COMMENT ON COLUMN model_snapshots.created_at IS
    'When the snapshot was saved (database clock, the end of its fit), written by the fitting process.';
