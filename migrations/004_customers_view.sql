-- 004: customers becomes a view over customer_days, and the catch-up finds
-- changes through transactions.ingested_at. Applied by `ltvd migrate`
-- (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.
--
-- Why: maintaining the customers table in every batch's transaction cost
-- about as much as the transactions and customer_days inserts together,
-- and its rows were where concurrent batches of the same customers queued
-- for each other's locks until commit. The per-customer summary is a small
-- aggregate of the customer's days, computed where needed: for the batch's
-- customers inside the batch's transaction (store/ingest.c), for every
-- customer at start-up (store/customers.c). Nothing is lost by the DROP:
-- every value is derived from customer_days.

DROP TABLE customers;

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

-- Pages of transactions in insertion order: a BRIN index costs next to
-- nothing per insert and finds the rows of recent batches.
CREATE INDEX transactions_ingested_at_brin ON transactions USING brin (ingested_at);
COMMENT ON INDEX transactions_ingested_at_brin IS
    'Customers changed since a moment (ingested_at >= $1): the cache catch-up of a running server after writes it did not make (ltvd import).';
