-- 006: customer and transaction ids compare as bytes (COLLATE "C"), and the
-- BRIN index on transactions.ingested_at, unused since 005, goes. Applied by
-- `ltvd migrate` (src/store/migrate.c) inside one transaction together with
-- its schema_migrations row: no BEGIN or COMMIT in here.
--
-- Why: ids are opaque keys, never shown in a language's order. Under the
-- database's default collation (C.UTF-8 here, en_US elsewhere) every
-- comparison in the primary keys and in ingest's sorts goes through
-- strcoll; bytewise comparison is what the service's own code uses
-- (strcmp in src/), cannot change with a C library upgrade (which corrupts
-- text indexes under linguistic collations), and made a 1000-row batch
-- about 10% cheaper in PostgreSQL. The ALTERs rewrite both tables once.

DROP VIEW customers;

ALTER TABLE transactions
    ALTER COLUMN customer_id TYPE text COLLATE "C",
    ALTER COLUMN txn_id TYPE text COLLATE "C";
ALTER TABLE customer_days
    ALTER COLUMN customer_id TYPE text COLLATE "C";

CREATE VIEW customers AS
SELECT customer_id,
       min(day) AS first_day,
       max(day) AS last_day,
       count(*)::integer AS n_days,
       sum(amount) AS total_amount,
       (array_agg(amount ORDER BY day))[1] AS first_day_amount,
       sum(amount) - (array_agg(amount ORDER BY day))[1] AS repeat_amount
  FROM customer_days
 GROUP BY customer_id;
COMMENT ON VIEW customers IS
    'Per-customer summary over every stored day (first and last purchase day, distinct purchase days, amounts); x = n_days - 1, mean repeat value = repeat_amount / x.';

DROP INDEX transactions_ingested_at_brin;
