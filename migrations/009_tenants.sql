-- 009: tenants. A tenant is one business: its customers, transactions,
-- model snapshots, settings and keys, isolated from every other tenant's.
-- Every tenant-scoped table gets the tenant id first in its primary key (the
-- distribution column of a Citus setup, where those tables are distributed
-- by it and co-located; tenants and api_keys are small reference tables).
-- Everything stored before this migration belongs to the tenant 'default',
-- which the unprefixed /v1 paths address. Applied by `ltvd migrate`
-- (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.

CREATE TABLE tenants (
    id         text COLLATE "C" PRIMARY KEY
               CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    settings   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenants IS
    'The businesses the service holds. Deleting a row erases everything the tenant holds (ON DELETE CASCADE of every tenant-scoped table).';
COMMENT ON COLUMN tenants.settings IS
    'The settings that differ from the configuration (model, period, as_of, churn thresholds, horizon_days, discount_rate, margin, lifecycle settings, currency), by config key.';
COMMENT ON INDEX tenants_pkey IS 'Lookup of a tenant by id; GET /v1/tenants pages in id order.';

INSERT INTO tenants (id) VALUES ('default');

-- transactions and customer_days: the tenant first in the key
ALTER TABLE transactions
    ADD COLUMN tenant_id text COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE transactions ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE transactions DROP CONSTRAINT transactions_pkey;
ALTER TABLE transactions ADD PRIMARY KEY (tenant_id, customer_id, txn_id);
ALTER TABLE transactions ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
COMMENT ON COLUMN transactions.tenant_id IS 'The tenant the transaction belongs to.';
COMMENT ON INDEX transactions_pkey IS
    'Idempotency key of ingest (ON CONFLICT DO NOTHING): a transaction id is unique per tenant and customer. The tenant first: the distribution key of a Citus setup.';

DROP VIEW customers;

ALTER TABLE customer_days
    ADD COLUMN tenant_id text COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE customer_days ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE customer_days DROP CONSTRAINT customer_days_pkey;
ALTER TABLE customer_days ADD PRIMARY KEY (tenant_id, customer_id, day);
ALTER TABLE customer_days ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
COMMENT ON COLUMN customer_days.tenant_id IS 'The tenant the customer belongs to.';
COMMENT ON INDEX customer_days_pkey IS
    'One row per tenant, customer and day; also serves per-customer range scans for past as-of summaries.';

CREATE VIEW customers AS
SELECT tenant_id,
       customer_id,
       min(day) AS first_day,
       max(day) AS last_day,
       count(*)::integer AS n_days,
       sum(amount) AS total_amount,
       (array_agg(amount ORDER BY day))[1] AS first_day_amount,
       sum(amount) - (array_agg(amount ORDER BY day))[1] AS repeat_amount
  FROM customer_days
 GROUP BY tenant_id, customer_id;
COMMENT ON VIEW customers IS
    'Per-customer summary over every stored day (first and last purchase day, distinct purchase days, amounts) per tenant; x = n_days - 1, mean repeat value = repeat_amount / x.';

-- model snapshots: one sequence of ids, the newest per tenant served
ALTER TABLE model_snapshots
    ADD COLUMN tenant_id text COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE model_snapshots ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE model_snapshots DROP CONSTRAINT model_snapshots_pkey;
ALTER TABLE model_snapshots ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE model_snapshots ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
COMMENT ON COLUMN model_snapshots.tenant_id IS 'The tenant whose customers the model was fitted on.';
COMMENT ON INDEX model_snapshots_pkey IS
    'Ids grow with time: a tenant''s latest snapshot is its highest id.';

-- keys: a tenant's, or a platform key for every tenant ('*')
ALTER TABLE api_keys
    ADD COLUMN tenant_id text COLLATE "C" NOT NULL DEFAULT 'default'
        CHECK (tenant_id = '*' OR tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$');
ALTER TABLE api_keys ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
    CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['ingest', 'read', 'admin', 'platform']);
COMMENT ON COLUMN api_keys.tenant_id IS
    'The tenant the key may address, or * for a platform key (every tenant). A tenant''s keys are deleted with it (store/tenants.c), not by a foreign key: * is no tenant.';
COMMENT ON COLUMN api_keys.scopes IS
    'What the key may do: ingest (POST transactions), read (GET customers, model, segments; a private /metrics), admin (refit, erasure; a private /metrics), platform (tenant management).';
