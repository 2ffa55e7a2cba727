-- 010: checkpoints of the per-customer summaries, so that start-up loads
-- them instead of aggregating every customer_days row. Applied by `ltvd
-- migrate` (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.
--
-- Why: at 10M customers the start-up aggregate of customer_days took 70 s.
-- A checkpoint is every summary of one tenant as one REPEATABLE READ
-- snapshot saw them, packed into chunks (src/store/checkpoint.c), with the
-- snapshot's xmin (the horizon): a process starting from it re-reads only
-- the customers with rows stored at or after the horizon (the catch-up,
-- ingested_xid), which makes the result exactly a full rebuild's. Erasures
-- leave no row to catch up from, so an erasure deletes its tenant's
-- checkpoints in its own transaction after counting itself in
-- cache_checkpoint_epochs, which a checkpoint being written locks before it
-- commits (a concurrent erasure makes it fail, never survive it).
-- Every table has the tenant first in its key and a foreign key to tenants
-- (a Citus setup distributes them by it, co-located).

CREATE TABLE cache_checkpoints (
    tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          bigserial,
    horizon     bigint NOT NULL CHECK (horizon > 0),
    as_of_day   integer,
    n_customers bigint NOT NULL CHECK (n_customers >= 0),
    n_chunks    integer NOT NULL CHECK (n_chunks >= 0),
    format      integer NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
COMMENT ON TABLE cache_checkpoints IS
    'One row per checkpoint of a tenant''s per-customer summaries (the newest is loaded at start-up); written by one process at a time (an advisory lock per tenant), never by a read-only one.';
COMMENT ON COLUMN cache_checkpoints.horizon IS
    'xmin of the snapshot the summaries were read in: every transaction below it had ended, so rows with ingested_xid >= horizon are the only ones it may lack.';
COMMENT ON COLUMN cache_checkpoints.as_of_day IS
    'The tenant''s as_of (UTC day number since 1970-01-01) the summaries are cut at; NULL: every stored day. Loaded only under the same setting.';
COMMENT ON COLUMN cache_checkpoints.created_at IS
    'When its writing ended (the writers of a fleet skip a tenant whose newest checkpoint is younger than cache_checkpoint_interval_s).';
COMMENT ON COLUMN cache_checkpoints.format IS 'Version of the chunk encoding (src/store/checkpoint.c).';
COMMENT ON INDEX cache_checkpoints_pkey IS 'A tenant''s newest checkpoint is its highest id.';

CREATE TABLE cache_checkpoint_chunks (
    tenant_id     text COLLATE "C" NOT NULL,
    checkpoint_id bigint NOT NULL,
    chunk         integer NOT NULL CHECK (chunk >= 0),
    n_customers   integer NOT NULL CHECK (n_customers >= 0),
    checksum      bigint NOT NULL,
    data          bytea NOT NULL,
    PRIMARY KEY (tenant_id, checkpoint_id, chunk),
    FOREIGN KEY (tenant_id, checkpoint_id) REFERENCES cache_checkpoints (tenant_id, id)
        ON DELETE CASCADE
);
-- packed varints compress little; reading them uncompressed is faster
ALTER TABLE cache_checkpoint_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
COMMENT ON TABLE cache_checkpoint_chunks IS
    'A checkpoint''s summaries, a few thousand customers per chunk, in the encoding of src/store/checkpoint.c.';
COMMENT ON COLUMN cache_checkpoint_chunks.checksum IS
    'FNV-1a (64 bits, as a signed bigint) of data: a chunk that does not match makes the checkpoint unusable (start-up then rebuilds the tenant).';
COMMENT ON INDEX cache_checkpoint_chunks_pkey IS 'A checkpoint''s chunks in order.';

CREATE TABLE cache_checkpoint_epochs (
    tenant_id text COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    erasures  bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE cache_checkpoint_epochs IS
    'Erasures per tenant (store_customer_erase counts each): a checkpoint locks its tenant''s row before it commits and is abandoned when an erasure came after its snapshot.';
COMMENT ON INDEX cache_checkpoint_epochs_pkey IS 'One row per tenant that has had an erasure or a checkpoint.';

-- The rebuild's aggregate without array_agg(amount ORDER BY day), which
-- sorted every customer's days to take the first amount (at 10M customers
-- the aggregate took 77 s, 16 s without it): the first day's amount is the
-- second element of the least (day, amount) pair, days being unique per
-- customer. Same columns, same values.
CREATE OR REPLACE VIEW customers AS
SELECT tenant_id,
       customer_id,
       min(day) AS first_day,
       max(day) AS last_day,
       count(*)::integer AS n_days,
       sum(amount) AS total_amount,
       (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS first_day_amount,
       sum(amount) - (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS repeat_amount
  FROM customer_days
 GROUP BY tenant_id, customer_id;
COMMENT ON VIEW customers IS
    'Per-customer summary over every stored day (first and last purchase day, distinct purchase days, amounts) per tenant; x = n_days - 1, mean repeat value = repeat_amount / x.';
