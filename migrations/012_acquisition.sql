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

-- The purchase months of a customer for the cache's month_bits: bit
-- (m mod 64) for every month m (year * 12 + month - 1) of a purchase day
-- within 64 months of the first one; the reader rotates the bits right by
-- (month of first_day) mod 64, which gives bit k = month(first_day) + k.
-- When the days span 64 months or more the months mod 64 would collide, so
-- those customers' bits come from a second look at their days (rare).
CREATE OR REPLACE VIEW customers AS
SELECT tenant_id,
       customer_id,
       min(day) AS first_day,
       max(day) AS last_day,
       count(*)::integer AS n_days,
       sum(amount) AS total_amount,
       (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS first_day_amount,
       sum(amount) - (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2] AS repeat_amount,
       CASE WHEN max(extract(year FROM day)::integer * 12 + extract(month FROM day)::integer)
                 - min(extract(year FROM day)::integer * 12 + extract(month FROM day)::integer) < 64
            THEN bit_or(1::bigint << ((extract(year FROM day)::integer * 12
                                       + extract(month FROM day)::integer - 1) % 64))
            ELSE (SELECT bit_or(1::bigint << ((extract(year FROM o.day)::integer * 12
                                               + extract(month FROM o.day)::integer - 1) % 64))
                    FROM customer_days o
                   WHERE o.tenant_id = customer_days.tenant_id
                     AND o.customer_id = customer_days.customer_id
                     AND extract(year FROM o.day)::integer * 12 + extract(month FROM o.day)::integer
                         < min(extract(year FROM customer_days.day)::integer * 12
                               + extract(month FROM customer_days.day)::integer) + 64)
       END AS purchase_months_mod64
  FROM customer_days
 GROUP BY tenant_id, customer_id;
COMMENT ON VIEW customers IS
    'Per-customer summary over every stored day (first and last purchase day, distinct purchase days, amounts, purchase months) per tenant; x = n_days - 1, mean repeat value = repeat_amount / x.';
COMMENT ON COLUMN customers.purchase_months_mod64 IS
    'Bit (m mod 64) for each month m = year * 12 + month - 1 with a purchase, m < month(first_day) + 64; rotate right by month(first_day) mod 64 for the months since the first.';
