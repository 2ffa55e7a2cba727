-- 012: customer attributes (acquisition channel and campaign, first touch)
-- and acquisition spend per channel and month (issue 11, part A "Inputs"),
-- and the customers view's purchase months. Applied by `ltvd migrate`
-- (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.
--
-- Both tables have the tenant first in their key and a foreign key to
-- tenants that cascades (a tenant's deletion takes them; src/store/citus.c
-- distributes them by tenant, co-located with transactions). An erasure
-- deletes the customer's attributes row (src/store/tenants.c).

CREATE TABLE customer_attributes (
    tenant_id           text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id         text COLLATE "C" NOT NULL,
    acquisition_channel text CHECK (octet_length(acquisition_channel) BETWEEN 1 AND 128),
    campaign            text CHECK (octet_length(campaign) BETWEEN 1 AND 128),
    written_xid         bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id)
);
COMMENT ON TABLE customer_attributes IS
    'A customer''s acquisition attributes: set by the first stored transaction item that carries any (INSERT ... ON CONFLICT DO NOTHING: later items never change them), or replaced by PUT /v1/customers/{id}/attributes.';
COMMENT ON COLUMN customer_attributes.acquisition_channel IS 'Where the customer came from (1-128 bytes of UTF-8, no control characters); NULL: unknown.';
COMMENT ON COLUMN customer_attributes.campaign IS 'The campaign that acquired the customer (same rule); NULL: unknown.';
COMMENT ON COLUMN customer_attributes.written_xid IS
    'Id (64-bit, with epoch) of the PostgreSQL transaction that last wrote the row: the cache catch-up of other processes reads rows at or after its horizon.';
CREATE INDEX customer_attributes_written_xid_brin ON customer_attributes USING brin (written_xid);
COMMENT ON INDEX customer_attributes_written_xid_brin IS
    'Attributes written at or after the catch-up horizon (written_xid >= $1).';

CREATE TABLE acquisition_spend (
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel    text COLLATE "C" NOT NULL CHECK (octet_length(channel) BETWEEN 1 AND 128),
    month      date NOT NULL CHECK (extract(day FROM month) = 1),
    spend      numeric(18, 4) NOT NULL CHECK (spend >= 0),
    leads      bigint CHECK (leads >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel, month)
);
COMMENT ON TABLE acquisition_spend IS
    'What acquiring customers cost, per channel and calendar month, in the tenant''s currency (PUT /v1/acquisition/spend replaces a (channel, month) row).';
COMMENT ON COLUMN acquisition_spend.month IS 'The first day of the month.';
COMMENT ON COLUMN acquisition_spend.leads IS 'Leads the channel brought that month; NULL: not given.';
COMMENT ON INDEX acquisition_spend_pkey IS 'A tenant''s spend by channel, then month (GET pages in this order).';
COMMENT ON INDEX customer_attributes_pkey IS 'One row per customer of a tenant.';

-- The purchase months of a customer for the cache's month_bits, in one
-- pass without a sort or a subquery: with m = year * 12 + month - 1 the
-- month of a day, purchase_months_cK holds bit (m mod 64) of the purchase
-- months whose 64-month epoch (m / 64) is K modulo 4. The months wanted
-- (the first purchase's and the 63 after it) lie in the first day's epoch
-- and the next; another epoch of either class is at least 193 months after
-- the first, so for days spanning at most 192 months the reader
-- (src/store/customers.c, store_month_bits) takes them from those two
-- classes, and for a longer span it reads that customer's days itself.
CREATE OR REPLACE VIEW customers AS
SELECT tenant_id,
       customer_id,
       min(day) AS first_day,
       max(day) AS last_day,
       count(*)::integer AS n_days,
       sum(amount) AS total_amount,
       (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS first_day_amount,
       sum(amount) - (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS repeat_amount,
       coalesce(bit_or(1::bigint << (m % 64)) FILTER (WHERE m / 64 % 4 = 0), 0) AS purchase_months_c0,
       coalesce(bit_or(1::bigint << (m % 64)) FILTER (WHERE m / 64 % 4 = 1), 0) AS purchase_months_c1,
       coalesce(bit_or(1::bigint << (m % 64)) FILTER (WHERE m / 64 % 4 = 2), 0) AS purchase_months_c2,
       coalesce(bit_or(1::bigint << (m % 64)) FILTER (WHERE m / 64 % 4 = 3), 0) AS purchase_months_c3
  FROM (SELECT *, date_part('year', day)::integer * 12 + date_part('month', day)::integer - 1 AS m
          FROM customer_days) d
 GROUP BY tenant_id, customer_id;
COMMENT ON VIEW customers IS
    'Per-customer summary over every stored day (first and last purchase day, distinct purchase days, amounts, purchase months) per tenant; x = n_days - 1, mean repeat value = repeat_amount / x.';
COMMENT ON COLUMN customers.purchase_months_c0 IS
    'Bit (m mod 64) of each purchase month m = year * 12 + month - 1 with (m / 64) mod 4 = 0 (c1..c3 likewise): read by store_month_bits (src/store/customers.c).';
