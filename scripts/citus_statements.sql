-- The statements of src/store/*.c and src/auth/auth_store.c as they read
-- once each carries the tenant (migration 009: tenant_id first in every
-- tenant-scoped key), with realistic parameters, for a Citus coordinator.
-- Run by scripts/citus_check.sh, which runs each "-- check: NAME" block in
-- its own psql session (after the "-- setup" block) and reports which ones
-- Citus refuses. The blocks are copies written by hand: when a statement in
-- src/store changes, change its block here (the name says where it lives).
-- Parameters are bound with PREPARE/EXECUTE, as libpq's prepared statements
-- bind them. A block fails when Citus refuses a statement, or when an answer
-- differs from PostgreSQL's: pg_temp.expect(condition, what) raises then (the
-- script defines it in every session). Nothing here needs Citus: on plain
-- PostgreSQL every block passes.

-- setup
INSERT INTO tenants (id) VALUES ('default'), ('shop-b') ON CONFLICT DO NOTHING;
DELETE FROM transactions WHERE tenant_id IN ('default', 'shop-b');
DELETE FROM customer_days WHERE tenant_id IN ('default', 'shop-b');
DELETE FROM model_snapshots WHERE tenant_id IN ('default', 'shop-b');
INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount)
SELECT t, 'c' || g, 'x' || g, timestamptz '2026-01-01' + g * interval '1 hour', 10
  FROM generate_series(1, 200) g, unnest(ARRAY['default', 'shop-b']) t;
INSERT INTO customer_days (tenant_id, customer_id, day, amount, n_transactions)
SELECT tenant_id, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, sum(amount), count(*)
  FROM transactions WHERE tenant_id IN ('default', 'shop-b') GROUP BY 1, 2, 3;

-- check: customers.c now_sql (one tenant's cache rebuild, a cursor in REPEATABLE READ)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
DECLARE ltvd_customers NO SCROLL CURSOR FOR
 SELECT customer_id, first_day - DATE '1970-01-01', last_day - DATE '1970-01-01', n_days,
        LEAST((repeat_amount) * 10000, 9223372036854775807)::bigint,
        LEAST((first_day_amount) * 10000, 9223372036854775807)::bigint
   FROM customers WHERE tenant_id = 'default';
FETCH 20000 FROM ltvd_customers;
COMMIT;

-- check: customers.c now_sql (every tenant's rebuild in one cursor: all shards)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
DECLARE ltvd_customers NO SCROLL CURSOR FOR
 SELECT tenant_id, customer_id, first_day - DATE '1970-01-01', n_days FROM customers;
FETCH 20000 FROM ltvd_customers;
COMMIT;

-- check: customers.c past_sql (cursor with a parameter)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
PREPARE past(text, integer) AS
 SELECT customer_id, min(day) - DATE '1970-01-01', max(day) - DATE '1970-01-01', count(*),
        LEAST((sum(amount) - (array_agg(amount ORDER BY day))[1]) * 10000, 9223372036854775807)::bigint,
        LEAST(((array_agg(amount ORDER BY day))[1]) * 10000, 9223372036854775807)::bigint
   FROM customer_days WHERE tenant_id = $1 AND day <= DATE '1970-01-01' + $2::integer
  GROUP BY customer_id;
EXECUTE past('default', 20460);
COMMIT;

-- check: customers.c changed_sql (catch-up by ingested_xid, one tenant)
PREPARE changed(text, bigint, bigint[]) AS
 SELECT DISTINCT customer_id FROM transactions
  WHERE tenant_id = $1 AND ingested_xid >= $2::bigint AND ingested_xid <> ALL ($3::bigint[]);
EXECUTE changed('default', 1, '{5,6}');

-- check: customers.c changed_sql (catch-up of every tenant: all shards)
PREPARE changed_all(bigint, bigint[]) AS
 SELECT DISTINCT tenant_id, customer_id FROM transactions
  WHERE ingested_xid >= $1::bigint AND ingested_xid <> ALL ($2::bigint[]);
EXECUTE changed_all(1, '{5,6}');

-- check: customers.c horizon_sql
SELECT pg_snapshot_xmin(pg_current_snapshot())::text;

-- check: customers.c estimate_sql (answers a row only where customer_days has statistics)
ANALYZE customer_days;
SELECT pg_temp.expect(count(*) = 1, 'customer_days statistics on this node') FROM (
SELECT (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
             ELSE -s.n_distinct * c.reltuples END)::bigint
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
 WHERE c.oid = 'customer_days'::regclass AND s.attname = 'customer_id'
   AND c.reltuples > 0) e;

-- check: customers.c some_now_sql / some_past_sql
PREPARE some_past(text, text[], integer) AS
 SELECT customer_id, min(day) - DATE '1970-01-01', max(day) - DATE '1970-01-01', count(*)
   FROM customer_days WHERE tenant_id = $1 AND customer_id = ANY($2::text[])
    AND day <= DATE '1970-01-01' + $3::integer GROUP BY customer_id;
EXECUTE some_past('default', '{c1,c2,c3}', 20460);

-- check: direct.c probe_sql (the xid and whether three items are stored)
BEGIN;
PREPARE probe(text, text, text, text, text, text, text) AS
 SELECT pg_current_xact_id()::text,
        EXISTS (SELECT 1 FROM transactions
                 WHERE tenant_id = $7 AND (customer_id, txn_id) IN (($1, $2), ($3, $4), ($5, $6)));
CREATE TEMP TABLE probe_out AS EXECUTE probe('c1', 'x1', 'c2', 'x2', 'c9', 'nope', 'default');
SELECT pg_temp.expect(pg_current_xact_id = pg_current_xact_id()::text,
                      'the probe''s xid (stamped into ingested_xid by the COPY) is this session''s')
  FROM probe_out;
ROLLBACK;

-- check: catch-up: a batch of the direct path stored after a look is found by the next look
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon \gset
BEGIN;
PREPARE probe(text, text, text, text, text, text, text) AS
 SELECT pg_current_xact_id()::text,
        EXISTS (SELECT 1 FROM transactions
                 WHERE tenant_id = $7 AND (customer_id, txn_id) IN (($1, $2), ($3, $4), ($5, $6)));
CREATE TEMP TABLE probe_out AS EXECUTE probe('late1', 't1', 'late1', 't1', 'late1', 't1', 'default');
INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid)
SELECT 'default', 'late1', 't1', '2026-02-01', 1, pg_current_xact_id::bigint FROM probe_out;
COMMIT;
SELECT count(*) = 1 AS ok FROM transactions
 WHERE tenant_id = 'default' AND customer_id = 'late1' AND ingested_xid >= :'horizon'::bigint \gset
SELECT pg_temp.expect(:'ok', 'the next look (ingested_xid >= the horizon taken before) finds the row');
DELETE FROM transactions WHERE tenant_id = 'default' AND customer_id = 'late1';

-- check: direct.c probe_sql split in two (the proposed fix): the xid alone, then the rows
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon \gset
BEGIN;
SELECT pg_current_xact_id()::text AS xid \gset
PREPARE probe2(text, text, text, text, text, text, text) AS
 SELECT EXISTS (SELECT 1 FROM transactions
                 WHERE tenant_id = $7 AND (customer_id, txn_id) IN (($1, $2), ($3, $4), ($5, $6)));
EXECUTE probe2('late2', 't1', 'late2', 't1', 'late2', 't1', 'default');
COPY transactions (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid) FROM STDIN;
default	late2	t1	2026-02-01 10:00:00+00	1.0000	0
\.
UPDATE transactions SET ingested_xid = :'xid'::bigint WHERE tenant_id = 'default' AND customer_id = 'late2';
COMMIT;
SELECT count(*) = 1 AS ok FROM transactions
 WHERE tenant_id = 'default' AND customer_id = 'late2' AND ingested_xid >= :'horizon'::bigint \gset
SELECT pg_temp.expect(:'ok', 'the next look finds the row stamped with the coordinator''s xid');
DELETE FROM transactions WHERE tenant_id = 'default' AND customer_id = 'late2';

-- check: direct.c existing_sql
PREPARE existing(text, text[], integer[]) AS
 SELECT d.customer_id, d.day - DATE '1970-01-01' FROM customer_days d
   JOIN unnest($2::text[], $3::integer[]) AS u(customer_id, day)
     ON d.customer_id = u.customer_id COLLATE "C" AND d.day = DATE '1970-01-01' + u.day
  WHERE d.tenant_id = $1
  ORDER BY 1, 2;
EXECUTE existing('default', '{c1,c2}', '{20454,20455}');

-- check: direct.c lock_sql (FOR UPDATE NOWAIT)
BEGIN;
PREPARE lockdays(text, text[], integer[]) AS
 SELECT 1 FROM customer_days d
   JOIN unnest($2::text[], $3::integer[]) AS u(customer_id, day)
     ON d.customer_id = u.customer_id COLLATE "C" AND d.day = DATE '1970-01-01' + u.day
  WHERE d.tenant_id = $1
  ORDER BY d.customer_id, d.day FOR UPDATE OF d NOWAIT;
EXECUTE lockdays('default', '{c1,c2}', '{20454,20455}');
ROLLBACK;

-- check: direct.c update_sql
BEGIN;
PREPARE upd(text, text[], integer[], bigint[], integer[]) AS
 UPDATE customer_days d
    SET amount = d.amount + u.units * 0.0001, n_transactions = d.n_transactions + u.n
   FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::integer[]) AS u(customer_id, day, units, n)
  WHERE d.tenant_id = $1 AND d.customer_id = u.customer_id COLLATE "C"
    AND d.day = DATE '1970-01-01' + u.day;
EXECUTE upd('default', '{c1}', '{20454}', '{10000}', '{1}');
ROLLBACK;

-- check: direct.c COPY transactions (with the probe's xid) and COPY customer_days
BEGIN;
COPY transactions (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid) FROM STDIN;
default	copy1	t1	2026-02-01 10:00:00+00	12.5000	4242
default	copy2	t1	2026-02-01 10:00:00+00	7.0000	4242
\.
COPY customer_days (tenant_id, customer_id, day, amount, n_transactions) FROM STDIN;
default	copy1	2026-02-01	12.5000	1
default	copy2	2026-02-01	7.0000	1
\.
ROLLBACK;

-- check: transactions.ingested_xid DEFAULT pg_current_xact_id() (a row that does not name it)
BEGIN;
INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount)
VALUES ('default', 'dflt', 't1', '2026-02-01', 1);
SELECT pg_current_xact_id()::text AS mine \gset
SELECT ingested_xid = :'mine'::bigint AS ok
  FROM transactions WHERE tenant_id = 'default' AND customer_id = 'dflt' \gset
SELECT pg_temp.expect(:'ok', 'the default stamps the xid of the session that inserted');
ROLLBACK;

-- check: ingest.c stage_sql and apply_sql (the staged batch: one statement)
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS ltvd_stage (
 ord integer NOT NULL, customer_id text COLLATE "C" NOT NULL, txn_id text COLLATE "C" NOT NULL,
 occurred_at timestamptz NOT NULL, amount numeric(18, 4) NOT NULL) ON COMMIT DELETE ROWS;
INSERT INTO ltvd_stage VALUES (0, 'c1', 'x1', '2026-01-01 01:00+00', 10),
                              (1, 'new1', 'n1', '2026-03-01 01:00+00', 3.5),
                              (2, 'new1', 'n2', '2026-03-02 01:00+00', 4.5);
PREPARE apply(text) AS
WITH x AS (
  SELECT pg_current_xact_id()::text::bigint AS xid
), ins AS (
  INSERT INTO transactions AS t (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid)
  SELECT DISTINCT ON (customer_id, txn_id) $1, customer_id, txn_id, occurred_at, amount,
         (SELECT xid FROM x)
    FROM ltvd_stage ORDER BY customer_id, txn_id, ord
  ON CONFLICT (tenant_id, customer_id, txn_id) DO NOTHING
  RETURNING t.customer_id, (t.occurred_at AT TIME ZONE 'UTC')::date AS day, t.amount
), day_delta AS (
  SELECT customer_id, day, sum(amount) AS amount, count(*)::integer AS n
    FROM ins GROUP BY customer_id, day
), days AS (
  INSERT INTO customer_days AS d (tenant_id, customer_id, day, amount, n_transactions)
  SELECT $1, customer_id, day, amount, n FROM day_delta ORDER BY customer_id, day
  ON CONFLICT (tenant_id, customer_id, day) DO UPDATE
    SET amount = d.amount + EXCLUDED.amount,
        n_transactions = d.n_transactions + EXCLUDED.n_transactions
  RETURNING d.customer_id, d.day, d.n_transactions
)
SELECT dd.customer_id, dd.day - DATE '1970-01-01' AS day_n, days.n_transactions = dd.n AS is_new,
       LEAST((dd.amount) * 10000, 9223372036854775807)::bigint AS units, dd.n, (SELECT xid FROM x) AS xid
  FROM day_delta dd JOIN days USING (customer_id, day)
 ORDER BY dd.customer_id, dd.day;
CREATE TEMP TABLE apply_out AS EXECUTE apply('default');
SELECT pg_temp.expect(count(*) = 2 AND bool_and(xid = pg_current_xact_id()::text::bigint),
                      'two new days, stamped with this session''s xid')
  FROM apply_out;
ROLLBACK;

-- check: ingest.c apply_sql in two statements (the staged rows, then their days)
BEGIN;
CREATE TEMP TABLE IF NOT EXISTS ltvd_stage (
 ord integer NOT NULL, customer_id text COLLATE "C" NOT NULL, txn_id text COLLATE "C" NOT NULL,
 occurred_at timestamptz NOT NULL, amount numeric(18, 4) NOT NULL) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ltvd_new (customer_id text COLLATE "C", day date, amount numeric)
  ON COMMIT DELETE ROWS;
INSERT INTO ltvd_stage VALUES (0, 'c1', 'x1', '2026-01-01 01:00+00', 10),
                              (1, 'new1', 'n1', '2026-03-01 01:00+00', 3.5),
                              (2, 'new1', 'n2', '2026-03-02 01:00+00', 4.5);
PREPARE ins2(text, bigint) AS
WITH ins AS (
  INSERT INTO transactions AS t (tenant_id, customer_id, txn_id, occurred_at, amount, ingested_xid)
  SELECT DISTINCT ON (customer_id, txn_id) $1, customer_id, txn_id, occurred_at, amount, $2
    FROM ltvd_stage ORDER BY customer_id, txn_id, ord
  ON CONFLICT (tenant_id, customer_id, txn_id) DO NOTHING
  RETURNING t.customer_id, (t.occurred_at AT TIME ZONE 'UTC')::date AS day, t.amount)
INSERT INTO ltvd_new SELECT * FROM ins;
EXECUTE ins2('default', 4343);
PREPARE days2(text) AS
 INSERT INTO customer_days AS d (tenant_id, customer_id, day, amount, n_transactions)
 SELECT $1, customer_id, day, sum(amount), count(*)::integer FROM ltvd_new
  GROUP BY customer_id, day ORDER BY customer_id, day
 ON CONFLICT (tenant_id, customer_id, day) DO UPDATE
   SET amount = d.amount + EXCLUDED.amount,
       n_transactions = d.n_transactions + EXCLUDED.n_transactions
 RETURNING d.customer_id, d.day, d.n_transactions;
EXECUTE days2('default');
ROLLBACK;

-- check: fleet.c lock_sql / unlock_sql (session advisory lock per tenant)
PREPARE fitlock(text) AS
 SELECT pg_try_advisory_lock(hashtext('ltvd-fit:' || $1::text)),
        extract(epoch FROM clock_timestamp())::text, pg_snapshot_xmin(pg_current_snapshot())::text;
EXECUTE fitlock('default');
PREPARE fitunlock(text) AS SELECT pg_advisory_unlock(hashtext('ltvd-fit:' || $1::text));
EXECUTE fitunlock('default');

-- check: fleet.c newest_sql
PREPARE newest(text, text, text, integer) AS
 SELECT coalesce(max(id), 0) FROM model_snapshots
  WHERE tenant_id = $1 AND settings_model = $2 AND period = $3
    AND settings_as_of IS NOT DISTINCT FROM date '1970-01-01' + $4::integer;
EXECUTE newest('default', 'bgnbd', 'week', NULL);

-- check: fleet.c data_xmin_sql and rows_since_sql
PREPARE dxmin(text, bigint) AS
 SELECT data_xmin FROM model_snapshots WHERE tenant_id = $1 AND id = $2::bigint;
EXECUTE dxmin('default', 1);
PREPARE since(text, bigint, bigint) AS
 SELECT count(*) FROM (SELECT 1 FROM transactions
  WHERE tenant_id = $1 AND ingested_xid >= $2::bigint LIMIT $3::bigint) c;
EXECUTE since('default', 1, 1000);

-- check: refit trigger of every tenant at once (rows since a horizon, grouped by tenant)
PREPARE since_all(bigint, bigint) AS
 SELECT t.id, coalesce(c.n, 0) FROM tenants t
   LEFT JOIN (SELECT tenant_id, count(*) AS n FROM transactions
               WHERE ingested_xid >= $1::bigint GROUP BY tenant_id) c ON c.tenant_id = t.id
  ORDER BY t.id LIMIT $2;
EXECUTE since_all(1, 1000);

-- check: newest snapshot of every tenant (one row per tenant, all shards)
SELECT DISTINCT ON (tenant_id) tenant_id, id FROM model_snapshots ORDER BY tenant_id, id DESC;

-- check: fleet.c LISTEN and snapshot.c notify_sql
LISTEN ltvd_snapshot;
SELECT pg_notify('ltvd_snapshot', 'default 1');

-- check: snapshot.c clock_sql and save_sql (values, RETURNING id), and load_sql
BEGIN;
PREPARE clk(text) AS
 SELECT pg_try_advisory_xact_lock(hashtext('ltvd-fit:' || $1::text)),
        extract(epoch FROM clock_timestamp())::text;
EXECUTE clk('default');
PREPARE save(text, double precision, text, text, text, text, double precision, bigint, bigint,
             boolean, integer, double precision, text, integer, double precision, double precision, bigint) AS
 INSERT INTO model_snapshots (tenant_id, as_of, period, model, params, std_errors, log_likelihood,
        n_customers, n_patterns, converged, iterations, seconds, settings_model, settings_as_of,
        created_at, fit_started_at, data_xmin)
 VALUES ($1, to_timestamp($2::double precision), $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10,
         $11, $12, $13, date '1970-01-01' + $14::integer,
         to_timestamp($15::double precision), to_timestamp($16::double precision), $17::bigint)
 RETURNING id;
EXECUTE save('default', 1767225600, 'week', 'bgnbd', '{"r":0.24,"alpha":4.41,"a":0.79,"b":2.43}',
             NULL, -9582.4, 2357, 310, true, 25, 0.01, 'bgnbd', NULL, 1767225601.5, 1767225600.5, 1000);
PREPARE load(text, bigint) AS
 SELECT id, extract(epoch FROM created_at), extract(epoch FROM as_of), period, model,
        params::text, settings_as_of - date '1970-01-01', extract(epoch FROM fit_started_at), data_xmin
   FROM model_snapshots WHERE tenant_id = $1 AND id < $2::bigint ORDER BY id DESC LIMIT 1;
EXECUTE load('default', 9223372036854775807);
ROLLBACK;

-- check: auth_store.c create_sql, list_sql, revoke_sql, load_sql (api_keys: a reference table)
BEGIN;
PREPARE kcreate(text, text, text, text, text) AS
 INSERT INTO api_keys (key_id, name, token_sha256, scopes, tenant_id)
 VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ','), $5)
 ON CONFLICT (key_id) DO NOTHING;
EXECUTE kcreate('0123456789ab', 'probe', repeat('ab', 32), 'ingest,read', 'default');
SELECT key_id, name, array_to_string(scopes, ','),
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM api_keys ORDER BY created_at, key_id;
PREPARE krevoke(text) AS
 WITH k AS (SELECT key_id, revoked_at FROM api_keys WHERE key_id = $1 FOR UPDATE),
      u AS (UPDATE api_keys SET revoked_at = now() FROM k
             WHERE api_keys.key_id = k.key_id AND k.revoked_at IS NULL RETURNING 1)
 SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM u);
EXECUTE krevoke('0123456789ab');
SELECT key_id, encode(token_sha256, 'hex'), array_to_string(scopes, ',')
  FROM api_keys WHERE revoked_at IS NULL;
ROLLBACK;

-- check: api_keys revoke in two statements (lock, then update)
BEGIN;
INSERT INTO api_keys (key_id, name, token_sha256, scopes, tenant_id)
VALUES ('0123456789ac', 'probe', decode(repeat('ab', 32), 'hex'), '{read}', 'default');
SELECT revoked_at IS NULL FROM api_keys WHERE key_id = '0123456789ac' FOR UPDATE;
UPDATE api_keys SET revoked_at = now() WHERE key_id = '0123456789ac' AND revoked_at IS NULL;
ROLLBACK;

-- check: tenants: create, list a page, update settings, delete (cascading to the shards)
BEGIN;
INSERT INTO tenants (id, settings) VALUES ('probe-t', '{"model":"pareto"}') RETURNING id, created_at;
SELECT id, settings::text FROM tenants WHERE id > '' ORDER BY id LIMIT 50;
UPDATE tenants SET settings = settings || '{"margin":0.3}', updated_at = now()
 WHERE id = 'probe-t' RETURNING settings::text, updated_at;
INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount)
VALUES ('probe-t', 'c1', 't1', '2026-01-01', 1);
INSERT INTO customer_days (tenant_id, customer_id, day, amount, n_transactions)
VALUES ('probe-t', 'c1', '2026-01-01', 1, 1);
DELETE FROM api_keys WHERE tenant_id = 'probe-t';
DELETE FROM tenants WHERE id = 'probe-t';
SELECT count(*) = 0 AS ok FROM transactions WHERE tenant_id = 'probe-t' \gset
SELECT pg_temp.expect(:'ok', 'no row of a deleted tenant');
ROLLBACK;

-- check: customer erasure (one tenant's customer, both tables)
BEGIN;
DELETE FROM transactions WHERE tenant_id = 'default' AND customer_id = 'c1';
DELETE FROM customer_days WHERE tenant_id = 'default' AND customer_id = 'c1';
ROLLBACK;

-- check: export of one tenant in customer order (a cursor over the view)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
DECLARE ltvd_export NO SCROLL CURSOR FOR
 SELECT customer_id, n_days FROM customers WHERE tenant_id = 'shop-b' ORDER BY customer_id;
FETCH 1000 FROM ltvd_export;
COMMIT;

-- check: a foreign key to the reference table refuses an unknown tenant
DO $$
BEGIN
  INSERT INTO transactions (tenant_id, customer_id, txn_id, occurred_at, amount)
  VALUES ('no-such-tenant', 'c1', 't1', '2026-01-01', 1);
  RAISE EXCEPTION 'a row of an unknown tenant was stored';
EXCEPTION WHEN foreign_key_violation THEN
  NULL;
END $$;

-- check: acquisition.c first_touch_sql (migration 012: unnest, ON CONFLICT DO NOTHING, RETURNING)
PREPARE first_touch(text, text[], text[], text[]) AS
 INSERT INTO customer_attributes AS a (tenant_id, customer_id, acquisition_channel, campaign)
 SELECT $1::text, u.c, u.ch, u.ca FROM unnest($2::text[], $3::text[], $4::text[]) AS u(c, ch, ca)
  ORDER BY u.c
 ON CONFLICT (tenant_id, customer_id) DO NOTHING
 RETURNING a.customer_id, a.acquisition_channel, a.campaign;
EXECUTE first_touch('default', '{c1,c2}', '{search,NULL}', '{NULL,spring}');
EXECUTE first_touch('default', '{c1}', '{tv}', '{NULL}');
SELECT pg_temp.expect((SELECT acquisition_channel FROM customer_attributes
                        WHERE tenant_id = 'default' AND customer_id = 'c1') = 'search',
                      'the first touch stays');

-- check: acquisition.c put_check_sql and put_sql (the row locked, then the upsert)
BEGIN;
SELECT 1 FROM customer_days WHERE tenant_id = 'default' AND customer_id = 'c3' LIMIT 1 FOR SHARE;
INSERT INTO customer_attributes AS a (tenant_id, customer_id, acquisition_channel, campaign)
VALUES ('default', 'c3', 'partner', NULL)
ON CONFLICT (tenant_id, customer_id) DO UPDATE
 SET acquisition_channel = EXCLUDED.acquisition_channel, campaign = EXCLUDED.campaign,
     written_xid = EXCLUDED.written_xid, updated_at = EXCLUDED.updated_at;
COMMIT;

-- check: acquisition.c changed_sql (the catch-up of attributes, every tenant: all shards)
SELECT tenant_id, customer_id, acquisition_channel, campaign
  FROM customer_attributes WHERE written_xid >= 1;

-- check: acquisition.c spend_check_channels (the channels of a spend PUT no customer has and no spend names)
SELECT u.i FROM (VALUES ('search'::text, 0), ('nowhere'::text, 1)) AS u(c, i)
 WHERE NOT EXISTS (SELECT 1 FROM customer_attributes a
                    WHERE a.tenant_id = 'default' AND a.acquisition_channel = u.c)
   AND NOT EXISTS (SELECT 1 FROM acquisition_spend s
                    WHERE s.tenant_id = 'default' AND s.channel = u.c);

-- check: acquisition.c spend (multi-row upsert with make_date) and spend_page_sql
INSERT INTO acquisition_spend AS s (tenant_id, channel, month, spend, leads)
VALUES ('default', 'search', make_date(2025, 1, 1), 10.5::numeric, 3::bigint),
       ('default', 'social', make_date(2025, 2, 1), 2::numeric, NULL::bigint)
ON CONFLICT (tenant_id, channel, month) DO UPDATE
 SET spend = EXCLUDED.spend, leads = EXCLUDED.leads, updated_at = EXCLUDED.updated_at;
PREPARE spend_page(text, text, integer, bigint) AS
 SELECT channel, (extract(year FROM month)::integer * 12 + extract(month FROM month)::integer - 1),
        spend::text, coalesce(leads, -1)
   FROM acquisition_spend
  WHERE tenant_id = $1 AND (channel, month) > ($2, make_date($3::integer / 12, $3::integer % 12 + 1, 1))
  ORDER BY channel, month LIMIT $4::bigint;
EXECUTE spend_page('default', '', 12, 100);

-- check: customers.c now_sql with the purchase months and the attributes (the view's
-- FILTERed bit_or over a subquery in FROM, joined to customer_attributes), and exact_sql
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
DECLARE ltvd_customers NO SCROLL CURSOR FOR
 SELECT c.tenant_id, c.customer_id, c.first_day, c.purchase_months_c0, c.purchase_months_c3,
        a.acquisition_channel, a.campaign
   FROM customers c LEFT JOIN customer_attributes a
     ON a.tenant_id = c.tenant_id AND a.customer_id = c.customer_id
  WHERE c.tenant_id = 'default';
FETCH 20000 FROM ltvd_customers;
SELECT coalesce(bit_or(1::bigint << ((date_part('year', day)::integer * 12
                                      + date_part('month', day)::integer - 1) % 64)), 0)
  FROM customer_days WHERE tenant_id = 'default' AND customer_id = 'c1'
   AND date_part('year', day)::integer * 12 + date_part('month', day)::integer - 1 < 24400
   AND (NULL::integer IS NULL OR day <= DATE '1970-01-01' + NULL::integer);
COMMIT;
-- check: subscriptions.c (a batch: lock the subscriptions, read the stored events, insert, count the version up)
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('shop-b'::text), b)
  FROM (SELECT DISTINCT hashtext(s) & 63 AS b FROM unnest('{"s1","s2"}'::text[]) s ORDER BY 1) x;
SELECT subscription_id, event_id, customer_id, event,
       floor(extract(epoch FROM occurred_at))::bigint, amount::text, billing_period
  FROM subscription_events
 WHERE tenant_id = 'shop-b' AND subscription_id = ANY ('{"s1","s2"}'::text[])
 ORDER BY subscription_id, event_id;
INSERT INTO subscription_events AS e (tenant_id, subscription_id, event_id,
       customer_id, event, occurred_at, amount, billing_period)
 SELECT DISTINCT ON (s, i) 'shop-b'::text, s, i, c, ev, to_timestamp(t), a, p
   FROM unnest('{"s1","s1","s2"}'::text[], '{"1","2","1"}'::text[], '{"c1","c1","c2"}'::text[],
               '{"start","renew","start"}'::text[], '{1735689600,1738368000,1735689600}'::bigint[],
               '{"9.5","9.5","120"}'::numeric[], '{"month","month","year"}'::text[])
        WITH ORDINALITY AS b(s, i, c, ev, t, a, p, o)
  ORDER BY s, i, o
 ON CONFLICT (tenant_id, subscription_id, event_id) DO NOTHING;
INSERT INTO subscription_versions AS v (tenant_id, version) VALUES ('shop-b', 1)
 ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1 RETURNING v.version;
SELECT count(*) = 3 AS ok FROM subscription_events WHERE tenant_id = 'shop-b' \gset
SELECT pg_temp.expect(:'ok', 'three events stored');
ROLLBACK;

-- check: subscriptions.c (one tenant's subscriptions, the versions, a customer's erasure)
BEGIN;
INSERT INTO subscription_events (tenant_id, subscription_id, event_id, customer_id, event,
       occurred_at, amount, billing_period)
VALUES ('default', 's1', '1', 'c1', 'start', '2025-01-01', 5, 'month'),
       ('default', 's1', '2', 'c1', 'renew', '2025-02-01', 6, 'month');
INSERT INTO subscription_versions (tenant_id, version) VALUES ('default', 1);
SELECT version FROM subscription_versions WHERE tenant_id = 'default';
SELECT subscription_id, min(customer_id), min(billing_period),
       floor(extract(epoch FROM min(occurred_at) FILTER (WHERE event = 'start'))),
       count(*) FILTER (WHERE event = 'renew'),
       floor(extract(epoch FROM min(occurred_at) FILTER (WHERE event = 'cancel'))),
       coalesce((array_agg(amount::text ORDER BY occurred_at DESC, event_id DESC)
                 FILTER (WHERE event <> 'cancel'))[1], '0'),
       floor(extract(epoch FROM max(occurred_at))),
       coalesce((array_agg(amount::text ORDER BY occurred_at, event_id)
                 FILTER (WHERE event = 'start'))[1], '0')
  FROM subscription_events WHERE tenant_id = 'default'
 GROUP BY subscription_id ORDER BY subscription_id;
SELECT tenant_id, version FROM subscription_versions;
-- the erasure's locks first (store_subs_lock_customer): the array, then lock_sql
SELECT coalesce(array_agg(DISTINCT subscription_id), '{}')::text
  FROM subscription_events WHERE tenant_id = 'default' AND customer_id = 'c1';
SELECT pg_advisory_xact_lock(hashtext('default'::text), b)
  FROM (SELECT DISTINCT hashtext(s) & 63 AS b FROM unnest('{s1}'::text[]) s ORDER BY 1) x;
WITH d AS (DELETE FROM subscription_events WHERE tenant_id = 'default' AND customer_id = 'c1'
           RETURNING 1)
 UPDATE subscription_versions SET version = version + 1
  WHERE tenant_id = 'default' AND EXISTS (SELECT 1 FROM d);
SELECT count(*) = 0 AS ok FROM subscription_events WHERE tenant_id = 'default' \gset
SELECT pg_temp.expect(:'ok', 'the customer''s events erased');
ROLLBACK;

-- check: diagnostics.c agg_sql (a cursor) and days_sql (the back-test's aggregates of customer_days)
-- (the service's transaction is READ ONLY too; here the answers go to temp tables)
BEGIN ISOLATION LEVEL REPEATABLE READ;
PREPARE bta(text, integer, integer) AS
 SELECT min(day) - DATE '1970-01-01' AS first,
        max(day) FILTER (WHERE day <= DATE '1970-01-01' + $2::integer) - DATE '1970-01-01' AS last_cal,
        count(*) FILTER (WHERE day <= DATE '1970-01-01' + $2::integer) AS cal_days,
        LEAST((coalesce(sum(amount) FILTER (WHERE day <= DATE '1970-01-01' + $2::integer), 0)
               - (min(ARRAY[(day - DATE '1970-01-01')::numeric, amount]))[2]) * 10000,
              9223372036854775807)::bigint AS repeat_units,
        count(*) FILTER (WHERE day > DATE '1970-01-01' + $2::integer) AS hold_days,
        LEAST((coalesce(sum(amount) FILTER (WHERE day > DATE '1970-01-01' + $2::integer), 0))
              * 10000, 9223372036854775807)::bigint AS hold_units,
        array_agg(day - DATE '1970-01-01') FILTER (WHERE day > DATE '1970-01-01' + $2::integer)
          AS hold
   FROM customer_days
  WHERE tenant_id = $1 AND day <= DATE '1970-01-01' + $3::integer
  GROUP BY customer_id
 HAVING min(day) <= DATE '1970-01-01' + $2::integer;
-- 2026-01-01 is day 20454: customers c1..c95 bought on days 20454..20457
CREATE TEMP TABLE bt_rows AS EXECUTE bta('default', 20457, 20500);
SELECT count(*) = 95 AND sum(cal_days) = 95 AND sum(hold_days) = 0
       AND sum(repeat_units) = 0 AS ok FROM bt_rows \gset
SELECT pg_temp.expect(:'ok', 'each customer of the calibration summarised once');
DECLARE ltvd_backtest NO SCROLL CURSOR FOR
 SELECT min(day) - DATE '1970-01-01', count(*) FROM customer_days
  WHERE tenant_id = 'default' AND day <= DATE '1970-01-01' + 20460
  GROUP BY customer_id HAVING min(day) <= DATE '1970-01-01' + 20455;
FETCH 20000 FROM ltvd_backtest;
CLOSE ltvd_backtest;
PREPARE btd(text, integer) AS
 SELECT day - DATE '1970-01-01', count(*)
   FROM customer_days
  WHERE tenant_id = $1 AND day <= DATE '1970-01-01' + $2::integer
  GROUP BY day;
CREATE TEMP TABLE bt_days AS EXECUTE btd('default', 20457);
SELECT sum(count) = 95 AS ok FROM bt_days \gset
SELECT pg_temp.expect(:'ok', 'the calibration''s purchase days per day');
COMMIT;
BEGIN;
INSERT INTO model_snapshots (tenant_id, as_of, period, model, params, log_likelihood,
       n_customers, n_patterns, converged, iterations, seconds, created_at)
VALUES ('default', now(), 'week', 'bgnbd', '{"r":1}', -1, 200, 10, true, 5, 0.01, now());
PREPARE dset(text, bigint, text) AS
 UPDATE model_snapshots SET diagnostics = $3::jsonb
  WHERE tenant_id = $1 AND id = $2::bigint AND diagnostics IS NULL;
SELECT max(id) AS sid FROM model_snapshots WHERE tenant_id = 'default' \gset
EXECUTE dset('default', :sid, '{"backtest":{"holdout":{"mae":0.5},"naive":{"mae":0.6},"worse_than_naive":false},"reason":null}');
PREPARE dget(text, bigint) AS
 SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), diagnostics::text
   FROM model_snapshots WHERE tenant_id = $1 AND id = $2::bigint;
EXECUTE dget('default', :sid);
PREPARE hist(text, integer) AS
 SELECT id, model, params::text, std_errors::text, log_likelihood, n_customers, seconds,
        (diagnostics #>> '{backtest,holdout,mae}')::float8 AS mae,
        (diagnostics #>> '{backtest,naive,mae}')::float8 AS naive_mae,
        (diagnostics #>> '{backtest,worse_than_naive}')::boolean AS worse
   FROM model_snapshots WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2::integer;
CREATE TEMP TABLE h_rows AS EXECUTE hist('default', 20);
SELECT count(*) = 1 AND min(mae) = 0.5 AS ok FROM h_rows \gset
SELECT pg_temp.expect(:'ok', 'the history holds the snapshot with its back-test summary');
ROLLBACK;

-- check: snapshot_cov.c save_sql and load_sql (the covariance column, migration 015)
BEGIN;
INSERT INTO model_snapshots (tenant_id, as_of, period, model, params, log_likelihood,
       n_customers, n_patterns, converged, iterations, seconds, created_at)
VALUES ('default', timestamptz '2026-01-01', 'week', 'bgnbd',
        '{"r":0.24,"alpha":4.41,"a":0.79,"b":2.43}', -9582.4, 2357, 310, true, 25, 0.01,
        timestamptz '2026-01-01 00:00:01')
RETURNING id AS snap_id \gset
PREPARE covsave(text, bigint, text) AS
 UPDATE model_snapshots SET covariance = $3::jsonb WHERE tenant_id = $1 AND id = $2::bigint;
EXECUTE covsave('default', :snap_id,
                '{"purchase":{"model":"bgnbd","params":["r"],"matrix":[[0.0001]]},"spend":null}');
PREPARE covload(text, bigint) AS
 SELECT covariance::text FROM model_snapshots WHERE tenant_id = $1 AND id = $2::bigint;
EXECUTE covload('default', :snap_id);
SELECT covariance->'purchase'->>'model' = 'bgnbd' AS ok FROM model_snapshots
 WHERE tenant_id = 'default' AND id = :snap_id \gset
SELECT pg_temp.expect(:'ok', 'the covariance saved and read back');
ROLLBACK;
