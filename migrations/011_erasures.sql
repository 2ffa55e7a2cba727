-- 011: erasures. DELETE /v1/customers/{id} deletes a customer's rows; the
-- processes that serve the customer from memory learn it from an
-- announcement (NOTIFY), which a process may not hear (a read-only one on a
-- standby never listens; another may be reconnecting). So each erasure is
-- also a row here, stamped with the id of the transaction that erased (as
-- transactions.ingested_xid is), and every process's catch-up reads the
-- erasures since its horizon, as it reads new transactions. Applied by
-- `ltvd migrate` (src/store/migrate.c) inside one transaction together with
-- its schema_migrations row: no BEGIN or COMMIT in here.

CREATE TABLE erasures (
    tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id text COLLATE "C" NOT NULL,
    erased_xid  bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    erased_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id, erased_xid)
);
COMMENT ON TABLE erasures IS
    'Customers erased (their transactions and days deleted), one row per erasure: the catch-up of every process drops them from memory (store/tenants.c).';
COMMENT ON COLUMN erasures.erased_xid IS
    'Id (64-bit, with epoch) of the PostgreSQL transaction that erased: read from the catch-up horizon on, as transactions.ingested_xid.';
COMMENT ON INDEX erasures_pkey IS 'One row per erasure; the tenant first (the distribution key on Citus).';

CREATE INDEX erasures_erased_xid_brin ON erasures USING brin (erased_xid);
COMMENT ON INDEX erasures_erased_xid_brin IS
    'Erasures at or after the catch-up horizon (erased_xid >= $1).';
