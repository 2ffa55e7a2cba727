-- 013: subscriptions (issue 11, part B). The events of a tenant's
-- subscriptions (start, renew, cancel), stored as POST /v1/subscriptions and
-- `ltvd import --subscriptions` send them, idempotent by (subscription_id,
-- id); and a per-tenant version counted up by every write, which tells each
-- process's catch-up that its in-memory survivor counts are stale
-- (src/app/subs.c). Applied by `ltvd migrate` (src/store/migrate.c) inside
-- one transaction together with its schema_migrations row: no BEGIN or
-- COMMIT in here. Both tables have the tenant first in their key and a
-- foreign key to tenants (a Citus setup distributes them by it, co-located).

CREATE TABLE subscription_events (
    tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscription_id text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    customer_id     text COLLATE "C" NOT NULL,
    event           text NOT NULL CHECK (event IN ('start', 'renew', 'cancel')),
    occurred_at     timestamptz NOT NULL,
    amount          numeric(18, 4) NOT NULL CHECK (amount >= 0),
    billing_period  text NOT NULL CHECK (billing_period IN ('month', 'year')),
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, subscription_id, event_id)
);
COMMENT ON TABLE subscription_events IS
    'Subscription events (start, renew, cancel); one start per subscription, nothing after its cancel (checked before insert, store/subscriptions.c).';
COMMENT ON COLUMN subscription_events.event_id IS
    'The caller''s id of the event, unique within its subscription: a resent event is a duplicate, not stored twice.';
COMMENT ON INDEX subscription_events_pkey IS
    'Idempotence by (subscription_id, event_id); the tenant first (the distribution key on Citus).';

CREATE INDEX subscription_events_customer ON subscription_events (tenant_id, customer_id);
COMMENT ON INDEX subscription_events_customer IS
    'Erasure of a customer deletes their subscriptions'' events.';

CREATE TABLE subscription_versions (
    tenant_id text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version   bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id)
);
COMMENT ON TABLE subscription_versions IS
    'Counted up by every write of a tenant''s subscription_events (batches, erasures): a process whose loaded version differs reloads them.';
COMMENT ON INDEX subscription_versions_pkey IS 'One row per tenant with subscription events.';
