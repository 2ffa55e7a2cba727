-- 001: transactions, their per-customer-day and per-customer summaries, and
-- the persisted model snapshots. Applied by `ltvd migrate` (src/store/migrate.c)
-- inside one transaction together with its schema_migrations row: no BEGIN or
-- COMMIT in here. Days are UTC calendar days of occurred_at.

CREATE TABLE transactions (
    customer_id text NOT NULL,
    txn_id      text NOT NULL,
    occurred_at timestamptz NOT NULL,
    amount      numeric(18, 4) NOT NULL CHECK (amount >= 0),
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, txn_id)
);
COMMENT ON TABLE transactions IS
    'Every purchase ever acknowledged, once: the caller''s id is unique per customer, so a retried batch adds nothing.';
COMMENT ON COLUMN transactions.txn_id IS 'The caller''s transaction id (the "id" of an ingested item).';
COMMENT ON COLUMN transactions.amount IS 'Money in the transaction''s currency; refunds are netted upstream, so never negative.';
COMMENT ON COLUMN transactions.ingested_at IS 'When the batch that brought the row began (transaction start time).';
COMMENT ON INDEX transactions_pkey IS
    'Idempotency key of ingest (ON CONFLICT DO NOTHING) and the distribution key of a Citus setup.';

CREATE TABLE customer_days (
    customer_id    text NOT NULL,
    day            date NOT NULL,
    amount         numeric NOT NULL CHECK (amount >= 0),
    n_transactions integer NOT NULL CHECK (n_transactions >= 1),
    PRIMARY KEY (customer_id, day)
);
COMMENT ON TABLE customer_days IS
    'Transactions summed per customer and UTC day, maintained in the transaction of each batch: the models count a day once, and summaries as of a past day come from here without a scan of transactions.';
COMMENT ON COLUMN customer_days.amount IS 'Sum of the day''s transaction amounts.';
COMMENT ON INDEX customer_days_pkey IS 'One row per customer and day; also serves per-customer range scans for past as-of summaries.';

CREATE TABLE customers (
    customer_id      text PRIMARY KEY,
    first_day        date NOT NULL,
    last_day         date NOT NULL,
    -- >= 0, not >= 1: ingest's INSERT ... ON CONFLICT DO UPDATE proposes a
    -- row holding the batch's delta (0 new days when a concurrent batch
    -- brought the day first), and CHECK applies to that proposal too.
    n_days           integer NOT NULL CHECK (n_days >= 0),
    total_amount     numeric NOT NULL CHECK (total_amount >= 0),
    first_day_amount numeric NOT NULL CHECK (first_day_amount >= 0),
    repeat_amount    numeric GENERATED ALWAYS AS (total_amount - first_day_amount) STORED,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (first_day <= last_day)
);
COMMENT ON TABLE customers IS
    'Materialized per-customer summary as of now (all stored days), updated in the transaction of each batch; the cache is rebuilt from it at start-up.';
COMMENT ON COLUMN customers.n_days IS 'Distinct purchase days; frequency x = n_days - 1.';
COMMENT ON COLUMN customers.first_day_amount IS 'Amount on first_day (the first purchase is not a repeat).';
COMMENT ON COLUMN customers.repeat_amount IS 'Total of the amounts on repeat days (after first_day); mean repeat value = repeat_amount / (n_days - 1).';
COMMENT ON INDEX customers_pkey IS 'Lookup and upsert of one customer''s summary.';

CREATE TABLE model_snapshots (
    id                   bigserial PRIMARY KEY,
    created_at           timestamptz NOT NULL DEFAULT now(),
    as_of                timestamptz NOT NULL,
    period               text NOT NULL CHECK (period IN ('day', 'week')),
    -- the purchase model (BG/NBD, Pareto/NBD, ...)
    model                text NOT NULL,
    params               jsonb NOT NULL,
    std_errors           jsonb,
    log_likelihood       double precision NOT NULL,
    n_customers          bigint NOT NULL CHECK (n_customers >= 0),
    n_patterns           bigint NOT NULL CHECK (n_patterns >= 0),
    converged            boolean NOT NULL,
    iterations           integer NOT NULL,
    seconds              double precision NOT NULL,
    -- the spend model (Gamma-Gamma), all NULL when none was fitted
    spend_model          text,
    spend_params         jsonb,
    spend_std_errors     jsonb,
    spend_log_likelihood double precision,
    spend_n_customers    bigint,
    spend_n_patterns     bigint,
    spend_converged      boolean,
    spend_iterations     integer,
    spend_seconds        double precision,
    CHECK ((spend_model IS NULL) = (spend_params IS NULL))
);
COMMENT ON TABLE model_snapshots IS
    'Immutable fitted models, one row per refit: a purchase model plus optionally the Gamma-Gamma spend model. The newest row is what the service serves after a restart.';
COMMENT ON COLUMN model_snapshots.as_of IS 'The time the summaries were computed for (T runs to this moment).';
COMMENT ON COLUMN model_snapshots.params IS 'Parameter names to values, e.g. {"r":0.24,"alpha":4.41,"a":0.79,"b":2.43}.';
COMMENT ON COLUMN model_snapshots.std_errors IS 'Standard errors by parameter name from the Hessian; NULL when not available.';
COMMENT ON COLUMN model_snapshots.n_patterns IS 'Distinct (x, t_x, T) triples the likelihood was summed over.';
COMMENT ON COLUMN model_snapshots.spend_n_customers IS 'Customers with at least one repeat purchase (those Gamma-Gamma is fitted on).';
COMMENT ON INDEX model_snapshots_pkey IS 'Ids grow with time: the latest snapshot is the highest id.';
