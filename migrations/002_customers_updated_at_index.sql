-- 002: customers by updated_at, for the running server's cache catch-up: it
-- re-reads the customers changed since its last look (updated_at is set to
-- now() by every ingest that inserts or updates a customer: `ltvd import`
-- writes PostgreSQL directly, not through the server). Applied by `ltvd
-- migrate` (src/store/migrate.c) inside one transaction together with its
-- schema_migrations row: no BEGIN or COMMIT in here.

CREATE INDEX customers_updated_at_idx ON customers (updated_at);
COMMENT ON INDEX customers_updated_at_idx IS
    'Customers changed since a moment (updated_at > $1): the cache catch-up of a running server after writes it did not make (ltvd import).';
